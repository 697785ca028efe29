package io.nanscope.llama.weights;

import io.nanscope.engine.tensor.Shape;
import io.nanscope.llama.config.LlamaConfig;

/**
 * The single table between our weight names, Hugging Face tensor names, tracer site names and
 * shapes. Letters as in {@link LlamaConfig}: C dim, F hiddenDim, H heads, Hkv kv heads, D head dim,
 * V vocab. Matrices are (out, in), row-major, as in both HF and llama2.c files.
 */
public final class WeightNames {

  private WeightNames() {}

  /** Tensors that occur once per model. */
  public enum Global {
    /** (V, C). */
    EMBEDDING("embedding", "model.embed_tokens.weight"),
    /** (C). */
    FINAL_NORM("finalNorm", "model.norm.weight"),
    /** (V, C); absent from files whose config ties it to the embedding. */
    CLASSIFIER("classifier", "lm_head.weight");

    private final String ours;
    private final String hf;

    Global(String ours, String hf) {
      this.ours = ours;
      this.hf = hf;
    }

    public String ours() {
      return ours;
    }

    public String hf() {
      return hf;
    }

    public Shape shape(LlamaConfig c) {
      return this == FINAL_NORM ? Shape.of(c.dim()) : Shape.of(c.vocabSize(), c.dim());
    }
  }

  /** Tensors of each transformer layer, in llama2.c's file order. */
  public enum Layer {
    /** (C). */
    ATTN_NORM("attnNorm", "input_layernorm"),
    /** (H·D, C). */
    WQ("wq", "self_attn.q_proj"),
    /** (Hkv·D, C). */
    WK("wk", "self_attn.k_proj"),
    /** (Hkv·D, C). */
    WV("wv", "self_attn.v_proj"),
    /** (C, H·D). */
    WO("wo", "self_attn.o_proj"),
    /** (C). */
    FFN_NORM("ffnNorm", "post_attention_layernorm"),
    /** (F, C); llama2.c w1. */
    W_GATE("wGate", "mlp.gate_proj"),
    /** (C, F); llama2.c w2. */
    W_DOWN("wDown", "mlp.down_proj"),
    /** (F, C); llama2.c w3. */
    W_UP("wUp", "mlp.up_proj");

    private final String ours;
    private final String hfModule;

    Layer(String ours, String hfModule) {
      this.ours = ours;
      this.hfModule = hfModule;
    }

    /** Our name, e.g. {@code layers.3.wDown}. */
    public String ours(int layer) {
      return "layers." + layer + "." + ours;
    }

    /** The HF tensor name, e.g. {@code model.layers.3.mlp.down_proj.weight}. */
    public String hf(int layer) {
      return "model.layers." + layer + "." + hfModule + ".weight";
    }

    /** The HF module path used as a tracer site, e.g. {@code layers.3.mlp.down_proj}. */
    public String site(int layer) {
      return "layers." + layer + "." + hfModule;
    }

    public Shape shape(LlamaConfig c) {
      long hd = (long) c.nHeads() * c.headDim();
      return switch (this) {
        case ATTN_NORM, FFN_NORM -> Shape.of(c.dim());
        case WQ -> Shape.of(hd, c.dim());
        case WK, WV -> Shape.of(c.kvDim(), c.dim());
        case WO -> Shape.of(c.dim(), hd);
        case W_GATE, W_UP -> Shape.of(c.hiddenDim(), c.dim());
        case W_DOWN -> Shape.of(c.dim(), c.hiddenDim());
      };
    }

    /** Heads whose rows RoPE rotates (H for wq, Hkv for wk), 0 for tensors RoPE does not touch. */
    public int ropeHeads(LlamaConfig c) {
      return switch (this) {
        case WQ -> c.nHeads();
        case WK -> c.nKvHeads();
        default -> 0;
      };
    }
  }
}
