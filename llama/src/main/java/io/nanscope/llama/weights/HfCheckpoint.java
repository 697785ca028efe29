package io.nanscope.llama.weights;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.io.AtomicFile;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.weights.SafetensorsWriter.Item;
import io.nanscope.llama.weights.WeightNames.Global;
import io.nanscope.llama.weights.WeightNames.Layer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A Hugging Face Llama directory: {@code config.json} and {@code model.safetensors} or shards with
 * {@code model.safetensors.index.json}. Tensor names per {@link WeightNames}; q/k rows in the
 * rotate_half layout (the config read says {@link RopeLayout#HF_ROTATE_HALF}).
 */
public final class HfCheckpoint {

  public static final String CONFIG = "config.json";
  public static final String SINGLE = "model.safetensors";
  public static final String INDEX = "model.safetensors.index.json";

  private HfCheckpoint() {}

  /** Reads {@code dir}; tensors are views of the mapped files. */
  public static LlamaWeights read(Path dir) throws IOException {
    LlamaConfig c = LlamaConfig.fromHfJson(dir.resolve(CONFIG));
    TensorSource src;
    if (Files.isRegularFile(dir.resolve(INDEX))) {
      src = ShardedSafetensors.open(dir.resolve(INDEX));
    } else if (Files.isRegularFile(dir.resolve(SINGLE))) {
      src = SafetensorsFile.open(dir.resolve(SINGLE));
    } else {
      throw new IllegalArgumentException(
          dir
              + ": neither "
              + SINGLE
              + " nor "
              + INDEX
              + " found; nanscope reads safetensors (convert pytorch_model.bin with HF's save_pretrained)");
    }
    Tensor embedding = get(src, Global.EMBEDDING.hf(), c);
    Tensor finalNorm = get(src, Global.FINAL_NORM.hf(), c);
    Tensor classifier = c.tieWordEmbeddings() ? embedding : get(src, Global.CLASSIFIER.hf(), c);
    List<LayerWeights> layers = new ArrayList<>();
    for (int l = 0; l < c.nLayers(); l++) {
      final int li = l;
      layers.add(LayerWeights.from(t -> get(src, t.hf(li), c)));
    }
    LlamaWeights.validate(c, embedding, layers, finalNorm, classifier, src.source());
    return new LlamaWeights(c, embedding, layers, finalNorm, classifier);
  }

  private static Tensor get(TensorSource src, String name, LlamaConfig c) {
    if (!src.has(name)) {
      throw new IllegalArgumentException(
          src.source()
              + ": tensor "
              + name
              + " is missing (a Llama with "
              + c.nLayers()
              + " layers needs it)");
    }
    return src.tensor(name);
  }

  /**
   * Writes {@code w} into the existing directory {@code dir} as {@code config.json} and safetensors
   * in {@code format}, q/k rows permuted to rotate_half. With {@code maxShardBytes > 0} the tensors
   * are sharded with an index; each tensor is converted only when written (streaming).
   */
  public static void write(LlamaWeights w, FloatFormat format, Path dir, long maxShardBytes)
      throws IOException {
    LlamaConfig c =
        w.config()
            .withTorchDtype(LlamaConfig.dtypeName(format))
            .withRopeLayout(RopeLayout.HF_ROTATE_HALF);
    List<Item> items = new ArrayList<>();
    items.add(item(Global.EMBEDDING.hf(), format, w.embedding(), () -> w.embedding()));
    for (int l = 0; l < c.nLayers(); l++) {
      final int li = l;
      for (Layer t : Layer.values()) {
        Tensor src = w.get(l, t);
        int heads = t.ropeHeads(c);
        items.add(
            item(
                t.hf(l),
                format,
                src,
                heads == 0
                    ? () -> w.get(li, t)
                    : () ->
                        RopePermutation.permuteRows(
                            w.get(li, t),
                            heads,
                            w.config().ropeLayout(),
                            RopeLayout.HF_ROTATE_HALF)));
      }
    }
    items.add(item(Global.FINAL_NORM.hf(), format, w.finalNorm(), () -> w.finalNorm()));
    if (!c.tieWordEmbeddings()) {
      items.add(item(Global.CLASSIFIER.hf(), format, w.classifier(), () -> w.classifier()));
    }
    Map<String, String> meta = Map.of("format", "pt");
    if (maxShardBytes > 0) {
      SafetensorsWriter.writeSharded(dir, items, maxShardBytes, meta);
    } else {
      SafetensorsWriter.write(dir.resolve(SINGLE), items, meta);
    }
    AtomicFile.write(dir.resolve(CONFIG), c.toHfJson());
  }

  private static Item item(
      String name, FloatFormat format, Tensor shapeOf, Supplier<Tensor> content) {
    return new Item(
        name,
        format,
        shapeOf.shape(),
        () -> {
          Tensor t = content.get();
          return t.format() == format ? t : t.to(format);
        });
  }
}
