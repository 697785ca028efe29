package io.nanscope.llama.model;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.weights.LayerWeights;
import io.nanscope.llama.weights.LlamaWeights;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The decode step for the all-FP32 policy without a tracer, on float arrays: llama2.c's {@code
 * forward()} shape, with the arithmetic of the engine ops written out in float so that it gives the
 * same bits as the op path (tested at every position; the ops compute in double and round once to
 * FP32, which for + − × ÷ of two floats is the float operation itself):
 *
 * <ul>
 *   <li>linear layers: {@link Kernels#matmulNT} as {@code MatMul} (same kernel, same order);
 *   <li>RMSNorm: Σx² sequential in float, {@code rstd = (float)(1/√(float)(mean + ε))} in double as
 *       {@code RmsNorm}, then {@code w·(x·rstd)};
 *   <li>RoPE: cos/sin of {@code pos·θ_i} rounded to float, tabulated once per position exactly as
 *       {@code Rope} computes them; {@code a·c − b·s}, {@code b·c + a·s} in float;
 *   <li>attention: q·k by {@link Kernels#dot} as the op, times {@code (float)(1/√D)}, softmax with
 *       {@code (float)exp(x − max)}, sequential sum, division; P·v sequential over keys;
 *   <li>SiLU {@code x / (1 + (float)exp(−x))}, then {@code ·up}; residual adds in float.
 * </ul>
 *
 * Buffers are allocated once; the KV cache per layer, keys and values (T, Hkv·D), grows by doubling.
 */
final class Fp32Decoder implements DecodeSession {

  private final LlamaConfig c;
  private final LlamaWeights w;
  private final int threads;
  private final int dim, hidden, heads, kvHeads, headDim, kvDim, vocab;
  private final boolean interleaved;
  private final float eps, scale;
  private final float[][] attnNorm, ffnNorm;
  private final float[] finalNorm;
  private final float[] x, xb, q, k, v, att, o, hb, hb2, logits, attn;
  private final Tensor xbT, attnT, hbT;
  private final float[] invFreq;
  private final float[][] kCache, vCache;
  private int capacity;
  private int pos;

  Fp32Decoder(LlamaWeights w, OpContext ctx) {
    this.c = w.config();
    this.w = w;
    this.threads = ctx.threads();
    dim = c.dim();
    hidden = c.hiddenDim();
    heads = c.nHeads();
    kvHeads = c.nKvHeads();
    headDim = c.headDim();
    kvDim = c.kvDim();
    vocab = c.vocabSize();
    interleaved = c.ropeLayout() == RopeLayout.META_INTERLEAVED;
    eps = (float) Precision.round(FloatFormat.FP32, c.normEps());
    scale = (float) (1.0 / Math.sqrt(headDim));
    attnNorm = new float[c.nLayers()][];
    ffnNorm = new float[c.nLayers()][];
    for (int l = 0; l < c.nLayers(); l++) {
      attnNorm[l] = w.layers().get(l).attnNorm().toFloatArray();
      ffnNorm[l] = w.layers().get(l).ffnNorm().toFloatArray();
    }
    finalNorm = w.finalNorm().toFloatArray();
    x = new float[dim];
    xb = new float[dim];
    q = new float[heads * headDim];
    k = new float[kvDim];
    v = new float[kvDim];
    att = new float[c.maxSeqLen()];
    attn = new float[heads * headDim];
    o = new float[dim];
    hb = new float[hidden];
    hb2 = new float[hidden];
    logits = new float[vocab];
    xbT = wrap(xb);
    attnT = wrap(attn);
    hbT = wrap(hb);
    invFreq = new float[headDim / 2];
    for (int i = 0; i < headDim / 2; i++) {
      // as Rope: the angle in FP32
      float p = (float) ((2.0 * i) / headDim);
      invFreq[i] = (float) (1.0 / (float) Math.pow(c.ropeTheta(), p));
    }
    kCache = new float[c.nLayers()][];
    vCache = new float[c.nLayers()][];
  }

  private static Tensor wrap(float[] a) {
    return Tensor.wrap(FloatFormat.FP32, Shape.of(1, a.length), MemorySegment.ofArray(a));
  }

  @Override
  public int position() {
    return pos;
  }

  @Override
  public float[] next(int token) {
    if (pos >= c.maxSeqLen()) {
      throw new IllegalArgumentException(
          "the model has " + c.maxSeqLen() + " positions; position " + pos + " is past the end");
    }
    if (token < 0 || token >= vocab) {
      throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, " + vocab + ")");
    }
    grow();
    Kernels.decodeRow(w.embedding(), token, x);
    for (int l = 0; l < c.nLayers(); l++) {
      LayerWeights lw = w.layers().get(l);
      rmsnorm(xb, x, attnNorm[l]);
      matvec(xbT, lw.wq(), q);
      matvec(xbT, lw.wk(), k);
      matvec(xbT, lw.wv(), v);
      rope(q, heads);
      rope(k, kvHeads);
      System.arraycopy(k, 0, kCache[l], pos * kvDim, kvDim);
      System.arraycopy(v, 0, vCache[l], pos * kvDim, kvDim);
      attention(kCache[l], vCache[l]);
      matvec(attnT, lw.wo(), o);
      for (int i = 0; i < dim; i++) {
        x[i] += o[i];
      }
      rmsnorm(xb, x, ffnNorm[l]);
      matvec(xbT, lw.wGate(), hb);
      matvec(xbT, lw.wUp(), hb2);
      for (int i = 0; i < hidden; i++) {
        float g = hb[i];
        float s = g / (1f + (float) Math.exp(-g));
        hb[i] = s * hb2[i];
      }
      matvec(hbT, lw.wDown(), o);
      for (int i = 0; i < dim; i++) {
        x[i] += o[i];
      }
    }
    rmsnorm(xb, x, finalNorm);
    matvec(xbT, w.classifier(), logits);
    pos++;
    return logits.clone();
  }

  private void matvec(Tensor in, Tensor weight, float[] out) {
    Kernels.matmulNT(in, weight, out, threads);
  }

  private void rmsnorm(float[] out, float[] in, float[] weight) {
    float ss = 0f;
    for (int i = 0; i < dim; i++) {
      ss += in[i] * in[i];
    }
    float mean = (float) ((double) ss / dim);
    float rstd = (float) (1.0 / Math.sqrt(mean + eps));
    for (int i = 0; i < dim; i++) {
      out[i] = weight[i] * (in[i] * rstd);
    }
  }

  /** Rotates each head's pairs by pos·θ_i (cos/sin rounded to float as Rope does). */
  private void rope(float[] vec, int nHeads) {
    int half = headDim / 2;
    for (int i = 0; i < half; i++) {
      float angle = (float) (pos * (double) invFreq[i]);
      float cs = (float) Math.cos(angle), sn = (float) Math.sin(angle);
      for (int h = 0; h < nHeads; h++) {
        int ia = h * headDim + (interleaved ? 2 * i : i);
        int ib = interleaved ? ia + 1 : ia + half;
        float a = vec[ia], b = vec[ib];
        vec[ia] = a * cs - b * sn;
        vec[ib] = b * cs + a * sn;
      }
    }
  }

  /**
   * Causal GQA attention of the current query over positions 0…pos, as {@code CausalAttention}
   * computes it with an FP32 accumulator: each score is {@link Kernels#dot} (the kernels' fixed
   * order), the softmax and the P·v sums are sequential in float.
   */
  private void attention(float[] kc, float[] vc) {
    int group = heads / kvHeads, n = pos + 1;
    for (int h = 0; h < heads; h++) {
      int qo = h * headDim, ko = (h / group) * headDim;
      for (int t = 0; t < n; t++) {
        att[t] = Kernels.dot(q, qo, kc, t * kvDim + ko, headDim);
      }
      float max = Float.NEGATIVE_INFINITY;
      for (int t = 0; t < n; t++) {
        float s = att[t] * scale;
        att[t] = s;
        max = Math.max(max, s);
      }
      float sum = 0f;
      for (int t = 0; t < n; t++) {
        float e = (float) Math.exp(att[t] - max);
        att[t] = e;
        sum += e;
      }
      for (int t = 0; t < n; t++) {
        att[t] = att[t] / sum;
      }
      weightedValues(vc, qo, ko, n);
    }
  }

  /**
   * {@code attn[qo + i] = Σ_t P_t·v[t, ko + i]}, each sum sequential over t from 0f as the op's
   * dot; four output coordinates per pass in locals (independent chains, no stores in the loop).
   */
  private void weightedValues(float[] vc, int qo, int ko, int n) {
    int i = 0;
    for (; i + 4 <= headDim; i += 4) {
      float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
      for (int t = 0, vb = ko + i; t < n; t++, vb += kvDim) {
        float p = att[t];
        s0 += p * vc[vb];
        s1 += p * vc[vb + 1];
        s2 += p * vc[vb + 2];
        s3 += p * vc[vb + 3];
      }
      attn[qo + i] = s0;
      attn[qo + i + 1] = s1;
      attn[qo + i + 2] = s2;
      attn[qo + i + 3] = s3;
    }
    for (; i < headDim; i++) {
      float s = 0f;
      for (int t = 0, vb = ko + i; t < n; t++, vb += kvDim) {
        s += att[t] * vc[vb];
      }
      attn[qo + i] = s;
    }
  }

  /** Makes room for position {@code pos} in every layer's cache (doubling, at most T_max positions). */
  private void grow() {
    if (pos < capacity) {
      return;
    }
    int cap = Math.min(c.maxSeqLen(), Math.max(16, 2 * capacity));
    for (int l = 0; l < c.nLayers(); l++) {
      kCache[l] = kCache[l] == null ? new float[Math.multiplyExact(cap, kvDim)] : Arrays.copyOf(kCache[l], cap * kvDim);
      vCache[l] = vCache[l] == null ? new float[Math.multiplyExact(cap, kvDim)] : Arrays.copyOf(vCache[l], cap * kvDim);
    }
    capacity = cap;
  }
}
