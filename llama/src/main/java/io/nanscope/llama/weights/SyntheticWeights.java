package io.nanscope.llama.weights;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.io.AtomicFile;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.weights.SafetensorsWriter.Item;
import io.nanscope.llama.weights.WeightNames.Global;
import io.nanscope.llama.weights.WeightNames.Layer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Seeded random Llama weights, for exercising shapes (up to 7B) without real weights. Matrices are
 * uniform on [-a, a] with a = 0.02·√3 (standard deviation 0.02, HF's {@code initializer_range});
 * RMSNorm gains are 1. Each tensor has its own generator seeded from (seed, tensor name), so a
 * tensor's values do not depend on which other tensors are made, or in what order.
 */
public final class SyntheticWeights {

  /** Standard deviation of the matrix entries. */
  public static final double STD = 0.02;

  private SyntheticWeights() {}

  /**
   * The tensor {@code name} of {@code shape}: ones for a vector (a norm gain), else uniform noise.
   */
  public static Tensor tensor(String name, Shape shape, FloatFormat format, long seed) {
    Tensor t = Tensor.zeros(format, shape);
    if (shape.rank() == 1) {
      for (long i = 0; i < t.size(); i++) {
        t.set(i, 1f);
      }
      return t;
    }
    SplittableRandom rnd = new SplittableRandom(mix(seed, name));
    double a = STD * Math.sqrt(3.0);
    for (long i = 0; i < t.size(); i++) {
      t.set(i, (float) rnd.nextDouble(-a, a));
    }
    return t;
  }

  /** All tensors of a model for {@code c}, under HF names, each made when it is written. */
  public static List<Item> items(LlamaConfig c, FloatFormat format, long seed) {
    List<Item> items = new ArrayList<>();
    add(items, Global.EMBEDDING.hf(), Global.EMBEDDING.shape(c), format, seed);
    for (int l = 0; l < c.nLayers(); l++) {
      for (Layer t : Layer.values()) {
        add(items, t.hf(l), t.shape(c), format, seed);
      }
    }
    add(items, Global.FINAL_NORM.hf(), Global.FINAL_NORM.shape(c), format, seed);
    if (!c.tieWordEmbeddings()) {
      add(items, Global.CLASSIFIER.hf(), Global.CLASSIFIER.shape(c), format, seed);
    }
    return items;
  }

  /** The whole model in memory (small configs only; use {@link #write} for large ones). */
  public static LlamaWeights inMemory(LlamaConfig c, FloatFormat format, long seed) {
    LlamaConfig cf = c.withTorchDtype(LlamaConfig.dtypeName(format));
    Tensor emb = tensor(Global.EMBEDDING.hf(), Global.EMBEDDING.shape(c), format, seed);
    List<LayerWeights> layers = new ArrayList<>();
    for (int l = 0; l < c.nLayers(); l++) {
      final int li = l;
      layers.add(LayerWeights.from(t -> tensor(t.hf(li), t.shape(c), format, seed)));
    }
    Tensor norm = tensor(Global.FINAL_NORM.hf(), Global.FINAL_NORM.shape(c), format, seed);
    Tensor cls =
        c.tieWordEmbeddings()
            ? emb
            : tensor(Global.CLASSIFIER.hf(), Global.CLASSIFIER.shape(c), format, seed);
    return new LlamaWeights(cf, emb, layers, norm, cls);
  }

  /**
   * Streams a HF-layout model (config.json + sharded safetensors with index) into the existing
   * directory {@code dir}, one tensor in memory at a time.
   */
  public static void write(
      LlamaConfig c, FloatFormat format, long seed, Path dir, long maxShardBytes)
      throws IOException {
    LlamaConfig cf = c.withTorchDtype(LlamaConfig.dtypeName(format));
    SafetensorsWriter.writeSharded(
        dir,
        items(cf, format, seed),
        maxShardBytes,
        Map.of("format", "pt", "nanscope", "synthetic seed " + seed));
    AtomicFile.write(dir.resolve(HfCheckpoint.CONFIG), cf.toHfJson());
  }

  private static void add(
      List<Item> items, String name, Shape shape, FloatFormat format, long seed) {
    items.add(new Item(name, format, shape, () -> tensor(name, shape, format, seed)));
  }

  /** Seed of one tensor: SplitMix64 finalizer over the seed and the UTF-8 bytes of its name. */
  static long mix(long seed, String name) {
    long h = seed;
    for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xFF)) * 0x100000001B3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    return h ^ (h >>> 33);
  }
}
