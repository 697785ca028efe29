package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.cli.MainTest.Result;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code repro --scenario stress}: bad input refused before any work; one tiny run end to end. */
class StressReproCommandTest {

  static final Path ROOT = ConvertAndSynthCommandTest.repoRoot();

  static String[] args(Path out, String... extra) {
    String[] base = {
      "repro",
      "--scenario",
      "stress",
      "--model",
      ROOT.resolve("models/stories260K").toString(),
      "--hparams",
      ROOT.resolve("configs/rome/stories260K.yaml").toString(),
      "--data",
      ROOT.resolve("configs/edits/tinystories-edits.json").toString(),
      "--out",
      out.toString()
    };
    String[] all = new String[base.length + extra.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return all;
  }

  @Test
  void badStressInputIsOneLineExitTwoBeforeAnyWork(@TempDir Path dir) {
    String[][] bad = {
      {"--mlp-peak", "0"},
      {"--mlp-peak", "1.2"},
      {"--layers", "9"},
      {"--layers", "middle"},
      {"--edits", "0"},
      {"--peak-sweep", "0.5,2"},
      {"--residual-scale", "0"},
      {"--policy", "auto"},
    };
    for (String[] extra : bad) {
      Result r = MainTest.run(args(dir, extra));
      assertThat(r.code())
          .as(String.join(" ", extra) + ": " + r.err())
          .isEqualTo(Main.EXIT_BAD_INPUT);
      assertThat(r.err().lines().count()).as(r.err()).isEqualTo(1);
    }
  }

  @Test
  void oneEditInFp16EndToEnd(@TempDir Path dir) {
    Result r =
        MainTest.run(
            args(
                dir,
                "--policy",
                "pytorch-fp16",
                "--context",
                "bare",
                "--edits",
                "1",
                "--no-sweep",
                "--no-fluency",
                "--stories",
                "1",
                "--story-tokens",
                "16",
                "--mlp-peak",
                "0.5",
                "--report",
                dir.resolve("r.html").toString()));
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("scenario stress")
        .contains("NOT Llama-2-7B magnitudes")
        .contains("Executing ROME algorithm for the update:")
        .contains("sequential edits WITHOUT restore")
        .contains("pytorch-fp16      1  none")
        .contains("conclusion (stress):");
    assertThat(r.err()).contains("[stress 0.500 pytorch-fp16] edit 1/1 done");
    assertThat(dir.resolve("r.html"))
        .content()
        .contains("Scenario stress")
        .contains("NOT Llama-2-7B magnitudes");
  }
}
