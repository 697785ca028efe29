package io.nanscope.llama.model;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.weights.LayerWeights;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.WeightNames.Global;
import io.nanscope.llama.weights.WeightNames.Layer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A small random Llama for gradient and hook tests (C 16, F 40, L 2, H 4, Hkv 2, V 32): matrices
 * uniform with standard deviation 0.4 (large enough that every layer matters), norm gains 1 ± 0.3.
 */
final class TinyLlama {

  private TinyLlama() {}

  static LlamaModel model(FloatFormat format, RopeLayout layout, long seed) {
    LlamaConfig c = LlamaConfig.tiny("float32").withRopeLayout(layout);
    SplittableRandom rnd = new SplittableRandom(seed);
    Tensor emb = random(Global.EMBEDDING.shape(c), format, rnd);
    List<LayerWeights> layers = new ArrayList<>();
    for (int l = 0; l < c.nLayers(); l++) {
      Tensor[] t = new Tensor[Layer.values().length];
      for (Layer w : Layer.values()) {
        t[w.ordinal()] = random(w.shape(c), format, rnd);
      }
      layers.add(
          new LayerWeights(
              t[Layer.ATTN_NORM.ordinal()],
              t[Layer.WQ.ordinal()],
              t[Layer.WK.ordinal()],
              t[Layer.WV.ordinal()],
              t[Layer.WO.ordinal()],
              t[Layer.FFN_NORM.ordinal()],
              t[Layer.W_GATE.ordinal()],
              t[Layer.W_UP.ordinal()],
              t[Layer.W_DOWN.ordinal()]));
    }
    Tensor norm = random(Global.FINAL_NORM.shape(c), format, rnd);
    Tensor cls = random(Global.CLASSIFIER.shape(c), format, rnd);
    return LlamaModel.of(c, new LlamaWeights(c, emb, layers, norm, cls));
  }

  private static Tensor random(Shape shape, FloatFormat format, SplittableRandom rnd) {
    Tensor t = Tensor.zeros(format, shape);
    double a = 0.4 * Math.sqrt(3);
    for (long i = 0; i < t.size(); i++) {
      t.setDouble(i, shape.rank() == 1 ? 1 + rnd.nextDouble(-0.3, 0.3) : rnd.nextDouble(-a, a));
    }
    return t;
  }
}
