package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.cli.MainTest.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input to {@code repro}: one line, exit code 2, before any work. (The scenarios are tested in
 * editing.)
 */
class ReproCommandTest {

  @Test
  void badInputIsRefusedWithExitCode2() {
    for (String[] args :
        new String[][] {
          {"repro", "--scenario", "bogus"},
          {"repro", "--policy", "auto", "--fallback", "fp8"},
          {"repro", "--policy", "fp17"},
          {"repro", "--ds-size", "0"},
          {"repro", "--context", "none"},
          {"repro", "--division-factor", "0"},
          {"repro", "--loss-scale", "static"},
          {"repro", "--alg", "bogus"},
          {"repro", "--alg", "MEMIT", "--hparams", "configs/memit/stories260K.yaml"},
          {"repro", "--alg", "MEMIT", "--scenario", "disabling-edit"},
          {"repro", "--alg", "FT-M", "--scenario", "stress"},
          {"repro", "--alg", "AlphaEdit", "--loss-scale", "dynamic"},
        }) {
      Result r = MainTest.run(args);
      assertThat(r.code()).as(String.join(" ", args) + ": " + r.err()).isEqualTo(2);
      assertThat(r.err().lines().count()).as(r.err()).isEqualTo(1);
      assertThat(r.out()).isEmpty();
    }
  }

  /**
   * One FP16 disabling edit end to end (bare context, 1 record, no sweep): table, report, JSON,
   * HTML.
   */
  @Test
  void disablingEditEndToEnd(@TempDir Path dir) throws Exception {
    Path root = Path.of("").toAbsolutePath();
    while (!Files.exists(root.resolve("mvnw"))) {
      root = root.getParent();
    }
    Result r =
        MainTest.run(
            "repro",
            "--scenario",
            "disabling-edit",
            "--policy",
            "pytorch-fp16",
            "--ds-size",
            "1",
            "--context",
            "bare",
            "--no-sweep",
            "--model",
            root.resolve("models/stories260K").toString(),
            "--hparams",
            root.resolve("configs/rome/stories260K.yaml").toString(),
            "--data",
            root.resolve("configs/edits/tinystories-edits.json").toString(),
            "--out",
            dir.toString(),
            "--report",
            dir.resolve("r.html").toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("Division Factor: 5e-05   [OVERRIDE")
        .contains("RuntimeError: probability tensor contains either `inf`, `nan` or element < 0")
        .contains("FAILED: generation of record 0")
        .contains("first non-finite value: record 0 forward layers.1.mlp.down_proj (matmul)")
        .contains("conclusion (disabling-edit):");
    // Issue 13 part 2: the producer and the propagator, each traced to a token and a channel.
    assertThat(r.out())
        .contains("  producer and propagator, with the operands of the first offending elements:")
        .contains(
            "    record 0 forward layers.1.mlp.down_proj (matmul): producer: created inf from finite"
                + " inputs")
        .contains(
            "    record 0 forward layers.2.input_layernorm (rmsnorm): propagator: its inputs"
                + " already held inf; it passed it on as NaN")
        .containsPattern("= [+-]inf: layer 1, batch row \\d+, token position \\d+, token \\d+ \"")
        .contains("y[t,n] = Σ_c x[t,c]·W[n,c]")
        .contains("largest |x[t,c]·W[n,c]| of 172: c=")
        .containsPattern("= NaN: layer 2, batch row \\d+, token position \\d+, token \\d+ \"")
        .contains("Σ_c x[");
    // Issue 13 part 4 (warning only): the prediction warns before the update is written, so
    // before the NaN and before the generation's error.
    String out = r.out();
    int warning =
        out.indexOf("edit-safety check (before writing): layers.1.mlp.down_proj would reach |x| =");
    assertThat(warning).isNotNegative();
    assertThat(warning)
        .isLessThan(out.indexOf("New weights successfully inserted"))
        .isLessThan(out.indexOf("RuntimeError: probability tensor contains"))
        .isLessThan(out.indexOf("first non-finite value: "));
    assertThat(dir.resolve("first-overflow-disabling-edit-fp16.json")).exists();
    var json =
        tools.jackson.databind.json.JsonMapper.builder()
            .build()
            .readTree(Files.readString(dir.resolve("first-overflow-disabling-edit-fp16.json")));
    assertThat(json.get("site").asString()).isEqualTo("layers.1.mlp.down_proj");
    assertThat(json.get("role").asString()).isEqualTo("producer");
    var el = json.get("elements").get(0);
    assertThat(el.get("layer").asInt()).isEqualTo(1);
    assertThat(el.get("token_text").asString()).isNotEmpty();
    assertThat(el.get("terms").size()).isEqualTo(4);
    assertThat(Math.abs(el.get("operands").get(0).get("value").asDouble())).isGreaterThan(65504);
    var nan = json.get("first_nan_event");
    assertThat(nan.get("site").asString()).isEqualTo("layers.2.input_layernorm");
    assertThat(nan.get("role").asString()).isEqualTo("propagator");
    assertThat(nan.get("elements").get(0).get("layer").asInt()).isEqualTo(2);
    assertThat(Files.readString(dir.resolve("r.html")))
        .contains("<svg")
        .contains("layers.1.mlp.down_proj");
    try (var files = Files.list(dir)) {
      assertThat(files.filter(p -> p.toString().endsWith(".png")).count())
          .isGreaterThanOrEqualTo(3);
    }
  }

  /**
   * {@code repro} with FT-M's hparams file (alg_name FT) in FP16: the natural scenario runs FT, and
   * the first-overflow report names Adam's update, where PyTorch-style FP16 moments divide by zero.
   */
  @Test
  void fineTuneRunsInTheNaturalScenarioAndNamesItsFirstOverflow(@TempDir Path dir)
      throws Exception {
    Path root = Path.of("").toAbsolutePath();
    while (!Files.exists(root.resolve("mvnw"))) {
      root = root.getParent();
    }
    Result r =
        MainTest.run(
            "repro",
            "--policy",
            "pytorch-fp16",
            "--ds-size",
            "1",
            "--no-fluency",
            "--model",
            root.resolve("models/stories260K").toString(),
            "--hparams",
            root.resolve("configs/ft/stories260K-ftm.yaml").toString(),
            "--data",
            root.resolve("configs/edits/tinystories-edits.json").toString(),
            "--out",
            dir.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("nanscope repro: FT-M (EasyEdit semantics)")
        .contains("scenario natural (FT-M)")
        .contains("first non-finite value: record 0 optimizer adam.layers.3.mlp.down_proj.weight")
        .contains("conclusion (natural, FT-M):");
    assertThat(dir.resolve("first-overflow-natural-FT-M-fp16.json")).exists();
  }
}
