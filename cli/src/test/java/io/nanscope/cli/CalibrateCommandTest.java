package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CalibrateCommandTest {

  static final Path STORIES = ConvertAndSynthCommandTest.STORIES;
  static final String DATA =
      ConvertAndSynthCommandTest.repoRoot().resolve(EditCommand.DEFAULT_DATA).toString();

  @Test
  void calibratesProvesAndWritesAModelDirectory(@TempDir Path tmp) throws IOException {
    Path out = tmp.resolve("cal");
    MainTest.Result r =
        MainTest.run(
            "calibrate",
            "--model",
            STORIES.toString(),
            "--data",
            DATA,
            "--mlp-peak",
            "0.9",
            "--layers",
            "4",
            "--stories",
            "1",
            "--story-tokens",
            "24",
            "--out",
            out.toString());
    assertThat(r.err()).isEmpty();
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .contains("NOT Llama-2-7B magnitudes")
        .contains("function unchanged: FP32 logits before/after," + " max relative difference")
        .contains("mlp.act_mul_up")
        .contains("wrote " + out);
    try (var s = Files.list(out)) {
      assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
          .containsExactly(
              "CALIBRATION.md",
              "calibration.json",
              "config.json",
              "model.safetensors",
              "special_tokens_map.json",
              "tokenizer.json",
              "tokenizer_config.json");
    }
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "--mlp-peak 0 --layers late|--mlp-peak must be a fraction of FP16's maximum in (0, 1]",
        "--mlp-peak 1.5 --layers late|--mlp-peak must be a fraction of FP16's maximum in (0, 1]",
        "--mlp-peak 0.9 --layers 9|names layer 9, but the model has 5 layers",
        "--mlp-peak 0.9 --layers middle|unknown --layers 'middle'",
        "--mlp-peak 0.9 --residual-scale -2|--residual-scale must be finite and > 0",
        "--mlp-peak abc --layers late|Invalid value for option '--mlp-peak'",
      })
  void badInputIsOneLineAndExitCodeTwoAndWritesNothing(
      String args, String message, @TempDir Path tmp) {
    Path out = tmp.resolve("cal");
    String[] a =
        (args + " --model " + STORIES + " --stories 1 --story-tokens 8 --out " + out).split(" ");
    String[] full = new String[a.length + 1];
    full[0] = "calibrate";
    System.arraycopy(a, 0, full, 1, a.length);
    MainTest.Result r = MainTest.run(full);
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err().strip()).doesNotContain("\n").contains(message);
    assertThat(out).doesNotExist();
  }

  @Test
  void refusesANonEmptyOutputDirectory(@TempDir Path tmp) throws IOException {
    Files.writeString(tmp.resolve("x"), "keep");
    MainTest.Result r =
        MainTest.run(
            "calibrate",
            "--model",
            STORIES.toString(),
            "--mlp-peak",
            "0.9",
            "--out",
            tmp.toString());
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err()).contains("is not an empty directory");
  }
}
