package io.nanscope.cli;

import io.nanscope.editing.repro.Calibration;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.StagedDirectory;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code nanscope calibrate}: an exact rescaling that moves late SwiGLU peaks towards FP16's
 * maximum.
 */
@Command(
    name = "calibrate",
    header =
        "Exact function-preserving rescaling of a model toward FP16's limit (a labelled stress test).",
    mixinStandardHelpOptions = true,
    description = {
      "Stress calibration (NOT Llama-2-7B magnitudes): measures each layer's natural max |silu(gate)*up| on a",
      "probe set (sampled stories + the edit set's prompts, seeded), scales the chosen layers' up_proj by",
      "a_l = FRACTION*65504/max and their down_proj by 1/a_l (optionally the residual stream by C), proves",
      "the function is unchanged (FP32 logits before/after, max relative difference <= 1e-5, else it fails),",
      "prints the FP16 headroom profile before/after and writes a Hugging Face model directory with",
      "CALIBRATION.md and calibration.json."
    })
public final class CalibrateCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      paramLabel = "PATH",
      description = "model (default: models/stories260K)")
  Path model;

  @Option(
      names = "--mlp-peak",
      required = true,
      paramLabel = "FRACTION",
      description =
          "target of the largest natural SwiGLU product, as a fraction of 65504, in (0, 1]")
  double fraction;

  @Option(
      names = "--layers",
      defaultValue = "late",
      paramLabel = "late|all|L,L",
      description =
          "layers to scale: late (the last two), all, or a list like 3,4 (default: ${DEFAULT-VALUE})")
  String layers;

  @Option(
      names = "--residual-scale",
      defaultValue = "1",
      paramLabel = "C",
      description =
          "also scale the residual stream by C (embedding untied, wo and w2 x C, eps x C^2)")
  double residualScale;

  @Option(
      names = "--data",
      paramLabel = "FILE",
      description =
          "edit records whose prompts join the probe set (default: "
              + EditCommand.DEFAULT_DATA
              + ")")
  Path data;

  @Option(
      names = "--stories",
      defaultValue = "24",
      paramLabel = "N",
      description = "stories sampled for the probe set (default: ${DEFAULT-VALUE})")
  int stories;

  @Option(
      names = "--story-tokens",
      defaultValue = "256",
      paramLabel = "N",
      description = "tokens per sampled story, BOS counted (default: ${DEFAULT-VALUE})")
  int storyTokens;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "seed of the probe stories (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(
      names = "--threads",
      defaultValue = "1",
      description = "GEMM threads (results do not depend on it)")
  int threads;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "output directory (must not exist, or be empty)")
  Path out;

  @Override
  public Integer call() throws IOException {
    Calibration.checkFraction(fraction);
    if (!(residualScale > 0 && Double.isFinite(residualScale))) {
      throw new IllegalArgumentException(
          "--residual-scale must be finite and > 0, got " + residualScale);
    }
    if (Files.exists(out) && (!Files.isDirectory(out) || nonEmpty(out))) {
      throw new IllegalArgumentException(
          out + " already exists and is not an empty directory; choose a new --out");
    }
    StagedDirectory.checkTarget(out, "--out"); // also: a writable place, before any work
    Path src = model != null ? model : ConvertCommand.defaultModel();
    if (!Files.exists(src)) {
      throw new IllegalArgumentException("model " + src + " does not exist; pass --model PATH");
    }
    LlamaWeights w = LlamaWeights.read(src);
    int[] chosen = Calibration.parseLayers(layers, w.config().nLayers());
    Tokenizer tok = Tokenizer.besideModel(src);
    List<EditRequest> records =
        EditDatasets.read(
            data != null ? data : EditCommand.home().resolve(EditCommand.DEFAULT_DATA));
    OpContext ctx = OpContext.DEFAULT.withThreads(threads);
    PrintWriter o = spec.commandLine().getOut();
    o.println("nanscope calibrate: " + Calibration.LABEL);
    LlamaModel m0 = LlamaModel.load(src, FloatFormat.FP32);
    Calibration.Probe probe = Calibration.probe(m0, tok, records, stories, storyTokens, seed, ctx);
    Calibration.Result r =
        Calibration.calibrate(w, tok, probe, null, fraction, chosen, residualScale, ctx);
    o.print(Calibration.describe(r));
    Calibration.write(r, tok, src.toString(), out);
    o.println(
        "wrote "
            + out
            + " (config.json, model.safetensors F32, tokenizer files, CALIBRATION.md,"
            + " calibration.json)");
    return 0;
  }

  private static boolean nonEmpty(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      return s.findAny().isPresent();
    }
  }
}
