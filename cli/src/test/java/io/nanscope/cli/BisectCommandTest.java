package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.cli.MainTest.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bisect}: bad input is refused with one line and exit code 2 before any work; {@code
 * --replay} runs a policy file on the disabling edit (bare context, 1 record: two runs, a few
 * seconds) and judges it like a trial. The search itself is tested in editing ({@code
 * BisectionTest}); the real scenarios are a command run once (docs/lab/2026-12-06-bisect.md).
 */
class BisectCommandTest {

  /**
   * The 1-minimal set `bisect --scenario disabling-edit --context bare` found
   * (docs/lab/2026-12-06-bisect.md).
   */
  static final List<String> MINIMAL =
      List.of(
          "layers.1.mlp.down_proj",
          "layers.1.residual_mlp",
          "layers.2.residual_attn",
          "layers.2.residual_mlp",
          "layers.3.residual_attn",
          "layers.3.residual_mlp",
          "layers.4.residual_attn",
          "layers.4.residual_mlp");

  @Test
  void badInputIsRefusedWithExitCode2(@TempDir Path dir) {
    for (String[] args :
        new String[][] {
          {"bisect", "--scenario", "bogus"},
          {"bisect", "--wide", "fp8"},
          {"bisect", "--wide", "fp64"},
          {"bisect", "--policy", "fp17"},
          {"bisect", "--policy", "configs/precision/pytorch-fp16.yaml"},
          {"bisect", "--ds-size", "0"},
          {"bisect", "--context", "none"},
          {"bisect", "--loss-tolerance", "-1"},
          {"bisect", "--replay", dir.resolve("missing.yaml").toString()},
          {"bisect", "--division-factor", "0"},
          {"bisect", "--scenario", "stress", "--mlp-peak", "1.5"},
          {"bisect", "--alg", "nope"},
          {"bisect", "--alg", "FT-M", "--hparams", "configs/ft/stories260K-ftm.yaml"},
          {"bisect", "--alg", "FT-M", "--scenario", "disabling-edit"},
          {"bisect", "--alg", "MEMIT", "--scenario", "natural", "--context", "bare"},
        }) {
      Result r = MainTest.run(args);
      assertThat(r.code()).as(String.join(" ", args) + ": " + r.err()).isEqualTo(2);
      assertThat(r.err().lines().count()).as(r.err()).isEqualTo(1);
      assertThat(r.out()).isEmpty();
    }
  }

  @Test
  void replayJudgesAPolicyFileLikeATrial(@TempDir Path dir) throws Exception {
    Path root = Path.of("").toAbsolutePath();
    while (!Files.exists(root.resolve("mvnw"))) {
      root = root.getParent();
    }
    StringBuilder yaml = new StringBuilder("name: minimal\nbase: pytorch-fp16\nsites:\n");
    MINIMAL.forEach(s -> yaml.append("  \"").append(s).append("\": {output: fp32}\n"));
    Path minimal = dir.resolve("minimal.yaml");
    Files.writeString(minimal, yaml);
    // the same set without its last site: the residual of the last layer overflows again
    StringBuilder less = new StringBuilder("name: less\nbase: pytorch-fp16\nsites:\n");
    MINIMAL
        .subList(0, MINIMAL.size() - 1)
        .forEach(s -> less.append("  \"").append(s).append("\": {output: fp32}\n"));
    Path without = dir.resolve("without-last.yaml");
    Files.writeString(without, less);

    List<String> common =
        new ArrayList<>(
            List.of(
                "bisect",
                "--scenario",
                "disabling-edit",
                "--context",
                "bare",
                "--model",
                root.resolve("models/stories260K").toString(),
                "--hparams",
                root.resolve("configs/rome/stories260K.yaml").toString(),
                "--data",
                root.resolve("configs/edits/tinystories-edits.json").toString()));
    List<String> pass = new ArrayList<>(common);
    pass.addAll(List.of("--replay", minimal.toString()));
    Result ok = MainTest.run(pass.toArray(String[]::new));
    assertThat(ok.code()).as(ok.out() + ok.err()).isZero();
    assertThat(ok.out())
        .contains("#1   FP32 reference")
        .contains("#2   replay minimal.yaml")
        .contains("passes (finite, within tolerance)");

    List<String> fail = new ArrayList<>(common);
    fail.addAll(List.of("--replay", without.toString()));
    Result bad = MainTest.run(fail.toArray(String[]::new));
    assertThat(bad.code()).as(bad.out() + bad.err()).isEqualTo(1);
    assertThat(bad.out())
        .contains("non-finite")
        .contains("layers.4.residual_mlp (add)")
        .contains("FAILS (non-finite)");
  }

  /**
   * At the labelled kᵀu override 3e-5, r itself overflows FP16: the 1-minimal set `bisect
   * --scenario disabling-edit --context bare --division-factor 3e-5` found holds the update site
   * and the 8 sites above. Replayed, it passes; without the update site it fails where r is born
   * inf, at {@code layers.1.mlp.down_proj.update}, and no forward site can replace it.
   */
  @Test
  void atThreeEMinus5OnlyTheUpdateSiteRescuesTheRightVector(@TempDir Path dir) throws Exception {
    Path root = Path.of("").toAbsolutePath();
    while (!Files.exists(root.resolve("mvnw"))) {
      root = root.getParent();
    }
    List<String> nine = new ArrayList<>();
    nine.add("layers.1.mlp.down_proj.update");
    nine.addAll(MINIMAL);
    StringBuilder yaml = new StringBuilder("name: nine\nbase: pytorch-fp16\nsites:\n");
    nine.forEach(s -> yaml.append("  \"").append(s).append("\": {output: fp32}\n"));
    Path withUpdate = dir.resolve("nine.yaml");
    Files.writeString(withUpdate, yaml);
    StringBuilder less = new StringBuilder("name: eight\nbase: pytorch-fp16\nsites:\n");
    MINIMAL.forEach(s -> less.append("  \"").append(s).append("\": {output: fp32}\n"));
    Path without = dir.resolve("eight.yaml");
    Files.writeString(without, less);
    List<String> common =
        List.of(
            "bisect",
            "--scenario",
            "disabling-edit",
            "--context",
            "bare",
            "--division-factor",
            "3e-5",
            "--model",
            root.resolve("models/stories260K").toString(),
            "--hparams",
            root.resolve("configs/rome/stories260K.yaml").toString(),
            "--data",
            root.resolve("configs/edits/tinystories-edits.json").toString());

    List<String> pass = new ArrayList<>(common);
    pass.addAll(List.of("--replay", withUpdate.toString()));
    Result ok = MainTest.run(pass.toArray(String[]::new));
    assertThat(ok.code()).as(ok.out() + ok.err()).isZero();
    assertThat(ok.out()).contains("passes (finite, within tolerance)");

    List<String> fail = new ArrayList<>(common);
    fail.addAll(List.of("--replay", without.toString()));
    Result bad = MainTest.run(fail.toArray(String[]::new));
    assertThat(bad.code()).as(bad.out() + bad.err()).isEqualTo(1);
    assertThat(bad.out())
        .contains("rank_one_update layers.1.mlp.down_proj.update (div)")
        .contains("FAILS (non-finite)");
  }

  /**
   * FT-M (natural scenario, 1 record, no fluency; 8 short trials): FP16 fails in Adam's update,
   * where eps = 1e-8 is 0 in FP16, and the search finds the optimiser state site alone, 1-minimal,
   * with a policy file that replays finite.
   */
  @Test
  void ftmIsFixedByItsOptimiserStateAlone(@TempDir Path dir) throws Exception {
    Path root = Path.of("").toAbsolutePath();
    while (!Files.exists(root.resolve("mvnw"))) {
      root = root.getParent();
    }
    Path out = dir.resolve("ftm.yaml");
    Result r =
        MainTest.run(
            "bisect",
            "--scenario",
            "natural",
            "--no-fluency",
            "--model",
            root.resolve("models/stories260K").toString(),
            "--hparams",
            root.resolve("configs/ft/stories260K-ftm.yaml").toString(),
            "--data",
            root.resolve("configs/edits/tinystories-edits.json").toString(),
            "--out",
            out.toString());
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out())
        .contains("natural (FT-M)")
        .contains("optimizer adam.layers.3.mlp.down_proj.weight")
        .contains("minimal set (1 sites): [adam.layers.3.mlp.down_proj.weight]")
        .contains("none can be dropped (1-minimal)")
        .contains("passes: every value finite, metrics within tolerance");
    assertThat(Files.readString(out))
        .contains("\"adam.layers.3.mlp.down_proj.weight\": {output: fp32");
  }
}
