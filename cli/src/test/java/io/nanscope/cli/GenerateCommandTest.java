package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class GenerateCommandTest {

  static final Path STORIES = ConvertAndSynthCommandTest.STORIES;
  static final Path GOLDEN =
      ConvertAndSynthCommandTest.repoRoot().resolve("llama/src/test/resources/golden");

  @Test
  void greedyGenerationPrintsLlama2csTextAndTokensPerSecond() throws IOException {
    MainTest.Result r =
        MainTest.run(
            "generate",
            "--model",
            STORIES.toString(),
            "--prompt",
            "Once upon a time",
            "--steps",
            "64");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .isEqualTo(
            Files.readString(GOLDEN.resolve("once_upon_a_time.n64.txt"), StandardCharsets.UTF_8));
    assertThat(r.err())
        .matches("achieved tok/s: [0-9.]+ \\(64 positions, policy fp32, 1 thread\\)\\R");
  }

  @Test
  void utf8SplitAcrossByteTokensIsPrintedWhole() throws IOException {
    MainTest.Result r =
        MainTest.run(
            "generate",
            "--model",
            STORIES.toString(),
            "--prompt",
            "Émile saw a café 🐶",
            "--steps",
            "80",
            "--threads",
            "2");
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .isEqualTo(Files.readString(GOLDEN.resolve("utf8.n80.txt"), StandardCharsets.UTF_8));
  }

  @Test
  void samplingRunsUnderA16BitPolicyAndIsSeeded() {
    String[] args = {
      "generate",
      "--model",
      STORIES.toString(),
      "--prompt",
      "Tom",
      "--steps",
      "20",
      "--temperature",
      "0.8",
      "--top-k",
      "40",
      "--top-p",
      "0.9",
      "--seed",
      "7",
      "--policy",
      "pytorch-bf16"
    };
    MainTest.Result a = MainTest.run(args);
    MainTest.Result b = MainTest.run(args);
    assertThat(a.code()).isZero();
    assertThat(a.out()).startsWith("Tom").isEqualTo(b.out());
  }

  @Test
  void badInputIsOneLineAndExitCode2() {
    for (String[] args :
        new String[][] {
          {"generate", "--prompt", "x", "--model", STORIES.toString(), "--steps", "-1"},
          {"generate", "--prompt", "x", "--model", STORIES.toString(), "--policy", "fp12"},
          {"generate", "--prompt", "x", "--model", STORIES.toString(), "--temperature", "-1"},
          {"generate", "--prompt", "x", "--model", STORIES.toString(), "--top-p", "0"},
          {"generate", "--prompt", "x", "--model", STORIES.toString(), "--threads", "0"},
          {"generate", "--prompt", "x", "--model", "/nonexistent/model"},
          {"generate", "--model", STORIES.toString()},
          {
            "generate", "--prompt", "a b c d e f g h", "--model", STORIES.toString(), "--steps", "3"
          },
        }) {
      MainTest.Result r = MainTest.run(args);
      assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
      assertThat(r.out()).isEmpty();
      assertThat(r.err().lines().count()).as(r.err()).isEqualTo(1);
      assertThat(r.err()).startsWith("nanscope generate: ");
    }
  }
}
