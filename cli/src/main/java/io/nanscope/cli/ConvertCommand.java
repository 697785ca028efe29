package io.nanscope.cli;

import io.nanscope.editing.save.HfDirectory;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.HfCheckpoint;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.StagedDirectory;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nanscope convert}: any model nanscope reads, written as a Hugging Face directory. */
@Command(
    name = "convert",
    header =
        "Writes any model nanscope reads as a Hugging Face directory (safetensors + tokenizer).",
    mixinStandardHelpOptions = true,
    description = {
      "Writes a model as a Hugging Face Llama directory: config.json, model.safetensors (q/k rows in",
      "HF's rotate_half order) and tokenizer.json/tokenizer_config.json/special_tokens_map.json.",
      "Reading that directory back gives the same weights. The output directory appears only when",
      "everything was written."
    })
public final class ConvertCommand implements Callable<Integer> {

  /** The embedded default model, relative to the installation. */
  public static final String DEFAULT_MODEL = "models/stories260K";

  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      paramLabel = "PATH",
      description =
          "llama2.c checkpoint (file or directory) or HF directory (default: "
              + DEFAULT_MODEL
              + ")")
  Path model;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "output directory (must not exist, or be empty)")
  Path out;

  @Option(
      names = "--dtype",
      defaultValue = "f32",
      paramLabel = "f32|f16|bf16",
      description = "storage dtype of the safetensors (default: ${DEFAULT-VALUE})")
  String dtype;

  /**
   * The default model directory: {@code models/stories260K} under the system property {@code
   * nanscope.home} (set by the launcher), else under the working directory.
   */
  public static Path defaultModel() {
    String home = System.getProperty("nanscope.home");
    return (home == null || home.isBlank() ? Path.of("") : Path.of(home)).resolve(DEFAULT_MODEL);
  }

  /** f32 / f16 / bf16 (the names the CLI accepts) to a storage format. */
  static FloatFormat storageFormat(String dtype) {
    return switch (dtype.toLowerCase(Locale.ROOT)) {
      case "f32", "fp32", "float32" -> FloatFormat.FP32;
      case "f16", "fp16", "float16" -> FloatFormat.FP16;
      case "bf16", "bfloat16" -> FloatFormat.BF16;
      default ->
          throw new IllegalArgumentException(
              "--dtype is '" + dtype + "', expected f32, f16 or bf16");
    };
  }

  @Override
  public Integer call() throws IOException {
    FloatFormat format = storageFormat(dtype);
    Path src = model != null ? model : defaultModel();
    if (!Files.exists(src)) {
      throw new IllegalArgumentException("model " + src + " does not exist; pass --model PATH");
    }
    StagedDirectory.checkTarget(out, "--out"); // before reading anything
    long t0 = System.nanoTime();
    LlamaWeights w = LlamaWeights.read(src);
    Path srcDir = Files.isDirectory(src) ? src : src.toAbsolutePath().getParent();
    Tokenizer tok = Tokenizer.besideModel(src);
    if (tok.vocabSize() != w.config().vocabSize()) {
      throw new IllegalArgumentException(
          "the tokenizer "
              + tok.source()
              + " has "
              + tok.vocabSize()
              + " pieces but the model's vocab_size is "
              + w.config().vocabSize());
    }
    List<String> skipped = new ArrayList<>();
    StagedDirectory.create(
        out, dir -> skipped.addAll(HfDirectory.write(w, format, tok, srcDir, dir)));
    for (String s : skipped) {
      spec.commandLine().getErr().println("warning: not copied: " + s);
    }
    LlamaConfig c = w.config();
    long bytes = Files.size(out.resolve(HfCheckpoint.SINGLE));
    PrintWriter o = spec.commandLine().getOut();
    o.printf(
        Locale.ROOT,
        "wrote %s: %,d parameters (%d layers, dim %d), %s, model.safetensors %,d bytes, in %.2f s%n",
        out,
        c.parameterCount(),
        c.nLayers(),
        c.dim(),
        LlamaConfig.dtypeName(format),
        bytes,
        (System.nanoTime() - t0) / 1e9);
    return 0;
  }
}
