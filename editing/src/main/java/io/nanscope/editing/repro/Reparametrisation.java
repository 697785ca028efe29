package io.nanscope.editing.repro;

import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.weights.LayerWeights;
import io.nanscope.llama.weights.LlamaWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Exact function-preserving reparametrisations of a Llama model: they change the magnitudes that
 * flow through the network, never the function it computes (in real arithmetic). They return new
 * weights with new heap tensors for what they change, in each tensor's own format (the scaled
 * values are rounded once to it); tensors they do not change are shared, and nothing is ever
 * written into the source tensors (which may be memory-mapped, read-only files).
 *
 * <p>Used as a STRESS TEST of FP16 range ({@code nanscope calibrate}): they move the natural
 * maximum of a site towards 65,504 without changing what the model says. They are not Llama-2-7B's
 * magnitudes; findings Part B §1 measured both exact to 1e-15 in FP64.
 */
public final class Reparametrisation {

  private Reparametrisation() {}

  /**
   * Residual-stream scale c: every value of the residual stream x (T, C) becomes c·x.
   *
   * <ul>
   *   <li>embedding ×c: x₀ = c·E[t];
   *   <li>every {@code wo} and {@code w2} (down) ×c: each branch adds c·(its old output), so by
   *       induction every residual state is c·x;
   *   <li>RMSNorm eps ×c²: {@code rmsnorm(c·x) = c·x / sqrt(c²·mean(x²) + c²·eps) = x /
   *       sqrt(mean(x²) + eps)}, so every normalised input (attention, MLP, final norm) is
   *       unchanged — without scaling eps the identity would fail by O(eps/mean(x²));
   *   <li>the classifier is UNTIED and keeps the original embedding: it reads the (unchanged) final
   *       norm's output, so a tied classifier scaled by c would multiply the logits by c.
   * </ul>
   *
   * Rotary embeddings, attention scores and MLP internals see only normalised inputs and are
   * unchanged.
   *
   * @param c a finite scale &gt; 0
   */
  public static LlamaWeights residualScale(LlamaWeights w, double c) {
    if (!(c > 0 && Double.isFinite(c))) {
      throw new IllegalArgumentException("the residual scale must be finite and > 0, got " + c);
    }
    LlamaConfig k = w.config();
    LlamaConfig scaled =
        new LlamaConfig(
            k.dim(),
            k.hiddenDim(),
            k.nLayers(),
            k.nHeads(),
            k.nKvHeads(),
            k.vocabSize(),
            k.maxSeqLen(),
            k.normEps() * c * c,
            k.ropeTheta(),
            false,
            k.torchDtype(),
            k.ropeLayout());
    List<LayerWeights> layers = new ArrayList<>();
    for (LayerWeights lw : w.layers()) {
      layers.add(
          new LayerWeights(
              lw.attnNorm(),
              lw.wq(),
              lw.wk(),
              lw.wv(),
              scaled(lw.wo(), c),
              lw.ffnNorm(),
              lw.wGate(),
              lw.wUp(),
              scaled(lw.wDown(), c)));
    }
    // The classifier keeps the original tensor (for a tied model: the unscaled embedding).
    return new LlamaWeights(
        scaled, scaled(w.embedding(), c), layers, w.finalNorm(), w.classifier());
  }

  /**
   * Per-layer MLP scale a_l: {@code w3} (up) ×a_l and {@code w2} (down) ÷a_l. With h the normalised
   * input, the MLP is {@code W2·(silu(W1 h) ⊙ W3 h)}; scaling W3 by a scales the product m =
   * silu(W1 h) ⊙ W3 h (ROME's key k, the down_proj input) by a, and W2/a undoes it: {@code
   * (W2/a)·(a·m) = W2·m}. The gate W1 is left alone because SiLU is not homogeneous.
   *
   * @param a one finite factor &gt; 0 per layer; 1 leaves that layer's tensors shared
   */
  public static LlamaWeights mlpScale(LlamaWeights w, double[] a) {
    if (a.length != w.config().nLayers()) {
      throw new IllegalArgumentException(
          "need one MLP factor per layer ("
              + w.config().nLayers()
              + "), got "
              + a.length
              + ": "
              + Arrays.toString(a));
    }
    List<LayerWeights> layers = new ArrayList<>();
    for (int l = 0; l < a.length; l++) {
      double f = a[l];
      if (!(f > 0 && Double.isFinite(f))) {
        throw new IllegalArgumentException(
            "MLP factor of layer " + l + " must be finite and > 0, got " + f);
      }
      LayerWeights lw = w.layers().get(l);
      layers.add(
          f == 1
              ? lw
              : new LayerWeights(
                  lw.attnNorm(),
                  lw.wq(),
                  lw.wk(),
                  lw.wv(),
                  lw.wo(),
                  lw.ffnNorm(),
                  lw.wGate(),
                  scaled(lw.wUp(), f),
                  scaled(lw.wDown(), 1 / f)));
    }
    return new LlamaWeights(w.config(), w.embedding(), layers, w.finalNorm(), w.classifier());
  }

  /** A new tensor s·t in t's format, each product computed in FP64 and rounded once. */
  static Tensor scaled(Tensor t, double s) {
    Tensor out = Tensor.zeros(t.format(), t.shape());
    for (long i = 0; i < t.size(); i++) {
      out.setDouble(i, t.getDouble(i) * s);
    }
    return out;
  }
}
