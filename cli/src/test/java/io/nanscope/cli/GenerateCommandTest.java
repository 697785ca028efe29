package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

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

  /** The fields of a parsed command, for comparing simple() with picocli. */
  private static List<Object> fields(GenerateCommand c) {
    return Arrays.asList(
        c.model,
        c.prompt,
        c.steps,
        Float.floatToRawIntBits(c.temperature),
        c.topK,
        Float.floatToRawIntBits(c.topP),
        c.seed,
        c.policy,
        c.threads);
  }

  /** What picocli reads from {@code args} (after "generate"), or null where it refuses them. */
  private static List<Object> picocli(String[] args) {
    GenerateCommand c = new GenerateCommand();
    try {
      new CommandLine(c).parseArgs(Arrays.copyOfRange(args, 1, args.length));
    } catch (CommandLine.ParameterException e) {
      return null;
    }
    return fields(c);
  }

  @Test
  void simpleReadsWhatPicocliReads() {
    String m = STORIES.toString();
    for (String[] args :
        new String[][] {
          {"generate", "--prompt", "Once upon a time"},
          {"generate", "--prompt", ""},
          {"generate", "--prompt", "x", "--model", m, "--steps", "0"},
          {"generate", "--steps", "64", "--prompt", "Émile 🐶", "--model", "a dir/with space"},
          {
            "generate",
            "--model",
            m,
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
            "9007199254740993",
            "--policy",
            "pytorch-bf16",
            "--threads",
            "2"
          },
          {"generate", "--prompt", "x", "--temperature", "1e-3", "--top-p", "0x1p-1"},
          {"generate", "--prompt", "x", "--temperature", " 2 ", "--top-p", "NaN"},
          {"generate", "--prompt", "x", "--temperature", "1f", "--top-p", "Infinity"},
          {"generate", "--prompt", "generate", "--policy", "configs/precision/x.yaml"},
        }) {
      GenerateCommand fast = GenerateCommand.simple(args);
      assertThat(fast).as(String.join(" ", args)).isNotNull();
      assertThat(fields(fast)).as(String.join(" ", args)).isEqualTo(picocli(args));
    }
  }

  @Test
  void everyOptionButHelpAndVersionIsReadBySimple() {
    List<String> names = new ArrayList<>();
    for (CommandLine.Model.OptionSpec o :
        new CommandLine(new GenerateCommand()).getCommandSpec().options()) {
      if (!o.usageHelp() && !o.versionHelp()) {
        names.addAll(Arrays.asList(o.names()));
      }
    }
    assertThat(GenerateCommand.OPTIONS).containsExactlyInAnyOrderElementsOf(names);
  }

  /** Anything but the simple forms goes to picocli (null here). */
  @Test
  void simpleLeavesEverythingElseToPicocli() {
    for (String[] args :
        new String[][] {
          {"generate"},
          {"generate", "--prompt"},
          {"generate", "--prompt=x"},
          {"generate", "--prompt", "x", "--steps=5"},
          {"generate", "--prompt", "x", "--steps", "-1"},
          {"generate", "--prompt", "-x"},
          {"generate", "--prompt", "@args.txt"},
          {"generate", "--prompt", "x", "--prompt", "y"},
          {"generate", "--prompt", "x", "--no-such-option", "1"},
          {"generate", "--prompt", "x", "--help"},
          {"generate", "--prompt", "x", "-h", "x"},
          {"generate", "--prompt", "x", "--steps"},
          {"generate", "--model", "m", "--steps", "5"},
          {"generate", "--prompt", "x", "--steps", "five"},
          {"generate", "--prompt", "x", "--steps", "99999999999"},
          {"generate", "--prompt", "x", "--temperature", "warm"},
          {"generate", "--prompt", "x", "--seed", "1.5"},
          {"generate", "--prompt", "x", "--model", "a\0b"},
          {"trace", "--prompt", "x"},
          {"--prompt", "x", "generate"},
        }) {
      assertThat(GenerateCommand.simple(args)).as(String.join(" ", args)).isNull();
    }
  }

  /** Random command lines from pools of names and values: simple() never disagrees with picocli. */
  @Test
  void simpleNeverDisagreesWithPicocliOnRandomCommandLines() {
    String[] names = {
      "--model", "--prompt", "--steps", "--temperature", "--top-k", "--top-p", "--seed",
      "--policy", "--threads", "--prompt=x", "-h", "--steps=3", "--nope", "--"
    };
    String[] values = {
      "",
      "x",
      "0",
      "7",
      "-1",
      "+1",
      "0.5",
      "1e3",
      "0x10",
      "1_000",
      "1.",
      ".5",
      "NaN",
      "-0",
      "2147483648",
      "9223372036854775808",
      "fp32",
      "@f",
      "--prompt",
      "-",
      " 3",
      "a b",
      "generate"
    };
    SplittableRandom random = new SplittableRandom(15);
    int simple = 0;
    for (int t = 0; t < 3000; t++) {
      List<String> args = new ArrayList<>(List.of("generate"));
      int n = random.nextInt(6);
      if (random.nextBoolean()) {
        args.addAll(List.of("--prompt", values[random.nextInt(values.length)]));
      }
      for (int i = 0; i < n; i++) {
        args.add(names[random.nextInt(names.length)]);
        if (random.nextInt(10) > 0) {
          args.add(values[random.nextInt(values.length)]);
        }
      }
      String[] a = args.toArray(String[]::new);
      GenerateCommand fast = GenerateCommand.simple(a);
      if (fast != null) {
        simple++;
        assertThat(fields(fast)).as(String.join(" ", a)).isEqualTo(picocli(a));
      }
    }
    assertThat(simple).as("command lines simple() read").isGreaterThan(100);
  }

  /** The same generate through picocli ({@code --steps=64} is not simple) prints the same. */
  @Test
  void picoclisPathPrintsTheSameAsTheSimpleOne() throws IOException {
    String[] picocli = {
      "generate", "--model", STORIES.toString(), "--prompt", "Once upon a time", "--steps=64"
    };
    assertThat(GenerateCommand.simple(picocli)).isNull();
    MainTest.Result r = MainTest.run(picocli);
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .isEqualTo(
            Files.readString(GOLDEN.resolve("once_upon_a_time.n64.txt"), StandardCharsets.UTF_8));
  }

  /** The tokens/s figure is written as Formatter's %.2f writes it (Locale.ROOT), bit for bit. */
  @Test
  void twoDecimalsIsFormattersPercentPoint2f() {
    SplittableRandom random = new SplittableRandom(2);
    List<Double> xs =
        new ArrayList<>(
            List.of(
                0.0,
                0.005,
                0.015,
                0.125,
                0.375,
                1.005,
                2.675,
                238.425,
                1e-9,
                99.995,
                999999.995,
                1e7,
                1e22,
                4.35,
                Double.MIN_VALUE,
                Double.MAX_VALUE,
                Double.NaN,
                Double.POSITIVE_INFINITY,
                9.995,
                0.995,
                0.0049999,
                1e-3,
                5e-3,
                4.5e-3,
                Double.NEGATIVE_INFINITY,
                -0.0,
                -1.005,
                -0.001));
    for (int i = 0; i < 20_000; i++) {
      xs.add(random.nextDouble() * Math.pow(10, random.nextInt(-3, 9)));
      xs.add(random.nextInt(0, 10_000_000) / 1000.0); // ties at the third decimal
    }
    for (double x : xs) {
      assertThat(GenerateCommand.twoDecimals(x))
          .as("%s", x)
          .isEqualTo(String.format(java.util.Locale.ROOT, "%.2f", x));
    }
  }
}
