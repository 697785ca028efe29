package io.nanscope.llama.weights;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.weights.WeightNames.Global;
import io.nanscope.llama.weights.WeightNames.Layer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * All weights of a Llama model with its config. Tensors read from files are views of the mapped
 * file (no heap copy); they stay valid while reachable.
 *
 * @param config the hyper-parameters; {@code config.ropeLayout()} tells how wq/wk rows are ordered
 * @param embedding (V, C) token embedding ({@code model.embed_tokens})
 * @param layers L layers
 * @param finalNorm (C) final RMSNorm gain ({@code model.norm})
 * @param classifier (V, C) output projection ({@code lm_head}); the same object as {@code
 *     embedding} when {@code config.tieWordEmbeddings()}
 */
public record LlamaWeights(
    LlamaConfig config,
    Tensor embedding,
    List<LayerWeights> layers,
    Tensor finalNorm,
    Tensor classifier) {

  public LlamaWeights {
    layers = List.copyOf(layers);
    validate(config, embedding, layers, finalNorm, classifier, "weights");
  }

  /**
   * Checks presence and shape of every tensor against {@code config}.
   *
   * @param source the file or directory, named in the message
   */
  static void validate(
      LlamaConfig config,
      Tensor embedding,
      List<LayerWeights> layers,
      Tensor finalNorm,
      Tensor classifier,
      String source) {
    if (layers.size() != config.nLayers()) {
      throw new IllegalArgumentException(
          source + ": " + layers.size() + " layers, the config says nLayers = " + config.nLayers());
    }
    check(embedding, Global.EMBEDDING.shape(config), Global.EMBEDDING.hf(), source);
    check(finalNorm, Global.FINAL_NORM.shape(config), Global.FINAL_NORM.hf(), source);
    check(classifier, Global.CLASSIFIER.shape(config), Global.CLASSIFIER.hf(), source);
    if (config.tieWordEmbeddings() && classifier != embedding) {
      throw new IllegalArgumentException(
          source
              + ": the config ties the classifier to the embedding, but they are different tensors");
    }
    for (int l = 0; l < layers.size(); l++) {
      for (Layer t : Layer.values()) {
        check(layers.get(l).get(t), t.shape(config), t.hf(l), source);
      }
    }
  }

  private static void check(Tensor t, Shape expected, String name, String source) {
    if (t == null) {
      throw new IllegalArgumentException(
          source + ": tensor " + name + " is missing (expected shape " + expected + ")");
    }
    if (!t.shape().equals(expected)) {
      throw new IllegalArgumentException(
          source
              + ": tensor "
              + name
              + " has shape "
              + t.shape()
              + ", the config expects "
              + expected);
    }
  }

  /** The tensor of layer {@code l} named by {@code which}. */
  public Tensor get(int l, Layer which) {
    return layers.get(l).get(which);
  }

  /** The global tensor named by {@code which}. */
  public Tensor get(Global which) {
    return switch (which) {
      case EMBEDDING -> embedding;
      case FINAL_NORM -> finalNorm;
      case CLASSIFIER -> classifier;
    };
  }

  /**
   * Every tensor by its Hugging Face name, in file order (embedding, the layers, final norm,
   * classifier); the classifier is left out when it is tied to the embedding, as in HF files.
   */
  public Map<String, Tensor> byHfName() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    out.put(Global.EMBEDDING.hf(), embedding);
    for (int l = 0; l < layers.size(); l++) {
      for (Layer t : Layer.values()) {
        out.put(t.hf(l), get(l, t));
      }
    }
    out.put(Global.FINAL_NORM.hf(), finalNorm);
    if (!config.tieWordEmbeddings()) {
      out.put(Global.CLASSIFIER.hf(), classifier);
    }
    return out;
  }

  /**
   * These weights with the tensors named in {@code replacements} (HF names, {@link #byHfName})
   * swapped in; every other tensor is shared.
   *
   * @throws IllegalArgumentException for an unknown name, or a replacement whose format or shape
   *     differs from the tensor it replaces
   */
  public LlamaWeights withTensors(Map<String, Tensor> replacements) {
    Map<String, Tensor> all = byHfName();
    for (var e : replacements.entrySet()) {
      Tensor old = all.get(e.getKey());
      if (old == null) {
        throw new IllegalArgumentException("this model has no tensor named " + e.getKey());
      }
      Tensor t = e.getValue();
      if (t.format() != old.format() || !t.shape().equals(old.shape())) {
        throw new IllegalArgumentException(
            "cannot replace " + e.getKey() + " (" + old + ") by " + t + ": format or shape differ");
      }
      all.put(e.getKey(), t);
    }
    List<LayerWeights> out = new ArrayList<>();
    for (int l = 0; l < layers.size(); l++) {
      final int li = l;
      out.add(LayerWeights.from(t -> all.get(t.hf(li))));
    }
    Tensor emb = all.get(Global.EMBEDDING.hf());
    Tensor cls = config.tieWordEmbeddings() ? emb : all.get(Global.CLASSIFIER.hf());
    return new LlamaWeights(config, emb, out, all.get(Global.FINAL_NORM.hf()), cls);
  }

  /**
   * The first tensor (HF name, then what differs) whose format, shape or stored bits differ from
   * {@code other}'s, in file order; empty if every tensor is bit-identical. Configs are not
   * compared.
   */
  public Optional<String> firstBitwiseDifference(LlamaWeights other) {
    List<String> names = new ArrayList<>();
    List<Tensor[]> pairs = new ArrayList<>();
    for (Global g : Global.values()) {
      names.add(g.hf());
      pairs.add(new Tensor[] {get(g), other.get(g)});
    }
    for (int l = 0; l < Math.min(layers.size(), other.layers.size()); l++) {
      for (Layer t : Layer.values()) {
        names.add(t.hf(l));
        pairs.add(new Tensor[] {get(l, t), other.get(l, t)});
      }
    }
    if (layers.size() != other.layers.size()) {
      return Optional.of(layers.size() + " layers vs " + other.layers.size());
    }
    for (int i = 0; i < names.size(); i++) {
      Tensor a = pairs.get(i)[0];
      Tensor b = pairs.get(i)[1];
      if (a.format() != b.format() || !a.shape().equals(b.shape())) {
        return Optional.of(names.get(i) + ": " + a + " vs " + b);
      }
      long at = a.segment().mismatch(b.segment());
      if (at >= 0) {
        long element = at / a.storageKind().bytes();
        return Optional.of(
            names.get(i)
                + ": element "
                + element
                + " is "
                + a.get(element)
                + " vs "
                + b.get(element));
      }
    }
    return Optional.empty();
  }

  /**
   * These weights with wq/wk rows in {@code layout} (copies of the permuted tensors; this object if
   * already in that layout). Every other tensor is shared.
   */
  public LlamaWeights withRopeLayout(RopeLayout layout) {
    RopeLayout from = config.ropeLayout();
    if (from == layout) {
      return this;
    }
    List<LayerWeights> out = new ArrayList<>();
    for (LayerWeights lw : layers) {
      out.add(
          LayerWeights.from(t ->
              t.ropeHeads(config) == 0
                  ? lw.get(t)
                  : RopePermutation.permuteRows(lw.get(t), t.ropeHeads(config), from, layout)));
    }
    return new LlamaWeights(config.withRopeLayout(layout), embedding, out, finalNorm, classifier);
  }

  /** A copy with every tensor converted to {@code format} (nearest-even), torch_dtype updated. */
  public LlamaWeights to(FloatFormat format) {
    List<LayerWeights> out = new ArrayList<>();
    for (LayerWeights lw : layers) {
      out.add(LayerWeights.from(t -> lw.get(t).to(format)));
    }
    Tensor emb = embedding.to(format);
    Tensor cls = config.tieWordEmbeddings() ? emb : classifier.to(format);
    return new LlamaWeights(
        config.withTorchDtype(LlamaConfig.dtypeName(format)), emb, out, finalNorm.to(format), cls);
  }

  /**
   * Reads a model: a HF directory (config.json with model.safetensors or a sharded index), a
   * llama2.c checkpoint file, or a directory holding exactly one llama2.c checkpoint {@code *.bin}
   * besides its {@code tok*.bin} tokenizer (as {@code models/stories260K}).
   */
  public static LlamaWeights read(Path model) throws IOException {
    if (Files.isDirectory(model)) {
      if (Files.isRegularFile(model.resolve("config.json"))) {
        return HfCheckpoint.read(model);
      }
      List<Path> bins;
      try (var s = Files.list(model)) {
        bins =
            s.filter(
                    p -> {
                      String n = p.getFileName().toString();
                      return n.endsWith(".bin") && !n.startsWith("tok");
                    })
                .sorted()
                .toList();
      }
      if (bins.size() != 1) {
        throw new IllegalArgumentException(
            model
                + ": expected a HF model directory (config.json +"
                + " *.safetensors) or exactly one llama2.c checkpoint *.bin, found "
                + bins.size()
                + " .bin files");
      }
      return Llama2cCheckpoint.read(bins.getFirst());
    }
    if (!Files.exists(model)) {
      throw new java.nio.file.NoSuchFileException(model.toString());
    }
    return Llama2cCheckpoint.read(model);
  }
}
