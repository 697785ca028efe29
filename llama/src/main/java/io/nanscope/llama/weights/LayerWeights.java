package io.nanscope.llama.weights;

import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.weights.WeightNames.Layer;

/**
 * The weights of one transformer layer. Shapes (C dim, F hidden, H heads, Hkv kv heads, D head
 * dim), matrices (out, in):
 *
 * @param attnNorm (C) RMSNorm gain before attention ({@code input_layernorm})
 * @param wq (H·D, C) query projection; row order per {@code LlamaConfig.ropeLayout}
 * @param wk (Hkv·D, C) key projection; row order per {@code LlamaConfig.ropeLayout}
 * @param wv (Hkv·D, C) value projection
 * @param wo (C, H·D) attention output projection
 * @param ffnNorm (C) RMSNorm gain before the MLP ({@code post_attention_layernorm})
 * @param wGate (F, C) SwiGLU gate, llama2.c w1 ({@code gate_proj})
 * @param wUp (F, C) SwiGLU up, llama2.c w3 ({@code up_proj})
 * @param wDown (C, F) SwiGLU down, llama2.c w2 ({@code down_proj}); its input is ROME's key k
 */
public record LayerWeights(
    Tensor attnNorm,
    Tensor wq,
    Tensor wk,
    Tensor wv,
    Tensor wo,
    Tensor ffnNorm,
    Tensor wGate,
    Tensor wUp,
    Tensor wDown) {

  /** The tensor named by {@code which}. */
  public Tensor get(Layer which) {
    return switch (which) {
      case ATTN_NORM -> attnNorm;
      case WQ -> wq;
      case WK -> wk;
      case WV -> wv;
      case WO -> wo;
      case FFN_NORM -> ffnNorm;
      case W_GATE -> wGate;
      case W_UP -> wUp;
      case W_DOWN -> wDown;
    };
  }

  /** Builds a layer from a lookup by name. */
  static LayerWeights from(java.util.function.Function<Layer, Tensor> get) {
    return new LayerWeights(
        get.apply(Layer.ATTN_NORM),
        get.apply(Layer.WQ),
        get.apply(Layer.WK),
        get.apply(Layer.WV),
        get.apply(Layer.WO),
        get.apply(Layer.FFN_NORM),
        get.apply(Layer.W_GATE),
        get.apply(Layer.W_UP),
        get.apply(Layer.W_DOWN));
  }
}
