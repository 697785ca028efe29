package io.nanscope.cli;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.StagedDirectory;
import io.nanscope.llama.weights.SyntheticWeights;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nanscope synth}: a seeded random Llama-shaped model, streamed to sharded safetensors. */
@Command(
    name = "synth",
    header =
        "Writes a seeded random Llama-shaped model (e.g. Llama-2-7B shapes) as sharded safetensors.",
    mixinStandardHelpOptions = true,
    description = {
      "Writes a Llama-shaped model with seeded random weights (uniform, std 0.02; norm gains 1) as",
      "a HF directory: config.json, model-0000i-of-0000n.safetensors, model.safetensors.index.json.",
      "Tensors are made and written one at a time, so llama2-7b (~13.5 GB in bf16) streams to disk."
    })
public final class SynthCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--shape",
      required = true,
      paramLabel = "llama2-7b|tiny",
      description =
          "llama2-7b (dim 4096, 32 layers, 32 heads, hidden 11008, vocab 32000) or tiny (dim 16, 2 layers, GQA 4/2, vocab 32)")
  String shape;

  @Option(
      names = "--dtype",
      defaultValue = "bf16",
      paramLabel = "f32|f16|bf16",
      description = "storage dtype (default: ${DEFAULT-VALUE})")
  String dtype;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "output directory (must not exist, or be empty)")
  Path out;

  @Option(
      names = "--seed",
      defaultValue = "0",
      paramLabel = "S",
      description = "random seed (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(
      names = "--max-shard-mb",
      defaultValue = "5000",
      paramLabel = "MB",
      description = "largest shard, in 10^6 bytes (default: ${DEFAULT-VALUE}, HF's 5GB)")
  long maxShardMb;

  @Option(
      names = "--tokenizer",
      paramLabel = "FILE",
      description =
          "a tokenizer (tokenizer.model/.json/.bin) to write alongside; its size must equal the shape's vocab")
  Path tokenizer;

  @Option(
      names = "--layers",
      paramLabel = "N",
      description =
          "keep only the first N decoder layers of the shape (e.g. a 7B-shaped model"
              + " with 8 layers for benchmarks that fit in memory); default: all of the shape's layers")
  Integer layers;

  /** The shape's config with {@code layers} decoder layers (null: the shape's own count). */
  static LlamaConfig withLayers(LlamaConfig c, Integer layers) {
    if (layers == null) {
      return c;
    }
    if (layers < 1) {
      throw new IllegalArgumentException("--layers is " + layers + ", expected at least 1");
    }
    return new LlamaConfig(
        c.dim(),
        c.hiddenDim(),
        layers,
        c.nHeads(),
        c.nKvHeads(),
        c.vocabSize(),
        c.maxSeqLen(),
        c.normEps(),
        c.ropeTheta(),
        c.tieWordEmbeddings(),
        c.torchDtype(),
        c.ropeLayout());
  }

  static LlamaConfig config(String shape, FloatFormat format) {
    String dtype = LlamaConfig.dtypeName(format);
    return switch (shape.toLowerCase(Locale.ROOT)) {
      case "llama2-7b" -> LlamaConfig.llama2_7b(dtype);
      case "tiny" -> LlamaConfig.tiny(dtype);
      default ->
          throw new IllegalArgumentException(
              "--shape is '" + shape + "', expected llama2-7b or tiny");
    };
  }

  @Override
  public Integer call() throws IOException {
    FloatFormat format = ConvertCommand.storageFormat(dtype);
    LlamaConfig c = withLayers(config(shape, format), layers);
    if (maxShardMb <= 0) {
      throw new IllegalArgumentException(
          "--max-shard-mb is " + maxShardMb + ", expected a positive number");
    }
    Tokenizer tok = tokenizer == null ? null : Tokenizer.read(tokenizer);
    if (tok != null && tok.vocabSize() != c.vocabSize()) {
      throw new IllegalArgumentException(
          "--tokenizer "
              + tokenizer
              + " has "
              + tok.vocabSize()
              + " pieces, the "
              + shape
              + " shape has vocab "
              + c.vocabSize());
    }
    long t0 = System.nanoTime();
    StagedDirectory.create(
        out,
        dir -> {
          SyntheticWeights.write(c, format, seed, dir, Math.multiplyExact(maxShardMb, 1_000_000L));
          if (tok != null) {
            tok.writeHfFiles(dir);
          }
        });
    double seconds = (System.nanoTime() - t0) / 1e9;
    long bytes = 0;
    int shards = 0;
    try (Stream<Path> s = Files.list(out)) {
      for (Path p : s.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
        bytes += Files.size(p);
        shards++;
      }
    }
    PrintWriter o = spec.commandLine().getOut();
    o.printf(
        Locale.ROOT,
        "wrote %s: %s shape, %,d parameters, %s, %,d bytes in %d shard(s), seed %d, in %.1f s%n",
        out,
        shape,
        c.parameterCount(),
        LlamaConfig.dtypeName(format),
        bytes,
        shards,
        seed,
        seconds);
    return 0;
  }
}
