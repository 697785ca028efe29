package io.nanscope.llama.model;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.Fp32Rows;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.RmsNorm;
import io.nanscope.engine.op.Rope;
import io.nanscope.engine.op.Softmax;
import io.nanscope.engine.op.SwiGlu;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.weights.LayerWeights;
import io.nanscope.llama.weights.LlamaWeights;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The decode step for the all-FP32 policy without a tracer, on float arrays: llama2.c's {@code
 * forward()} shape, built from the FP32 row kernels the engine ops run on their own FP32 path, so
 * that it gives the op path's bits (tested at every position):
 *
 * <ul>
 *   <li>linear layers: the ordered dot of {@code MatMul} ({@link Fp32Rows#matvecs}, or {@link
 *       Fp32Rows#dotColumns} on a transposed copy: the same order, the same bits);
 *   <li>RMSNorm: {@link RmsNorm#rowFp32};
 *   <li>RoPE: {@link Rope#rotateFp32} with the cos/sin table of {@link Rope#anglesFp32}, built once
 *       per position (not once per layer);
 *   <li>attention: q·k in {@link Fp32Rows#dot}'s order as the op, times {@code (float)(1/√D)}, the
 *       softmax of every head with {@link Softmax#rowsFp32}, P·v with {@link
 *       Fp32Rows#weightedRows};
 *   <li>the MLP's gating: {@link SwiGlu#rowFp32}; residual adds in float.
 * </ul>
 *
 * <p>Layout for speed (same arithmetic): a model whose weights fit {@link #PACK_LIMIT_BYTES} gets
 * every weight W (N, K) transposed once into float panels of 8 columns of Wᵀ, and its matvecs run
 * {@link Fp32Rows#dotColumns} (8 outputs per vector, no per-output lane reduction: the rows of a
 * small model are too short to amortise one); bigger models stream W from its storage with {@link
 * Fp32Rows#matvecs} (bandwidth-bound, split over threads by row blocks). Keys are cached
 * transposed, (Hkv·D, T) per layer, so the scores of a head are one {@code dotColumns}; values stay
 * (T, Hkv·D) for {@link Fp32Rows#weightedRows}. cos/sin are computed once per position, not once
 * per layer. Buffers are allocated once; the caches grow by doubling.
 *
 * <p>Warm-up (same bits): the vector kernels are slow until C2 has compiled them (the interpreter
 * and C1 box every vector), which on a small model is longer than a whole {@code generate}. So the
 * packed path runs the step on the kernels' scalar twins ({@link Fp32Rows#dotColumnsScalar}, {@link
 * Fp32Rows#weightedRowsScalar}, {@link RmsNorm#rowFp32Scalar}, {@link Softmax#rowsFp32Scalar},
 * {@link SwiGlu#rowFp32Scalar}: bit-identical, tested) for the first {@link #SCALAR_WARM_UP_MACS}
 * multiply-adds of linear layers the process decodes, then the vector kernels
 * (docs/guide/startup.md has the measurements). The scalar step is its own method ({@code
 * nextScalar}), so that the vector step's compiled code holds no scalar branch.
 */
final class Fp32Decoder implements DecodeSession {

  /**
   * Largest model (bytes of its linear weights in FP32) whose weights are transposed into a heap
   * copy for {@link Fp32Rows#dotColumns}: stories-sized models (260K: 1 MB; 110M: 0.4 GB stays
   * streamed). Above it a row is long enough for the streamed matvec to amortise its reduction.
   */
  static final long PACK_LIMIT_BYTES = 64L << 20;

  /**
   * Multiply-adds of linear layers (all packed decoders of the process together) that run on the
   * scalar twins before the vector kernels take over: 2^28, about 1,000 positions of stories260K,
   * 17 of stories15M. System property {@code nanscope.decode.scalarWarmUpMacs} overrides it (0:
   * vector kernels from the first position), for measurements.
   */
  static final long SCALAR_WARM_UP_MACS =
      Long.getLong("nanscope.decode.scalarWarmUpMacs", 1L << 28);

  /** What is left of {@link #SCALAR_WARM_UP_MACS} in this process. */
  private static final AtomicLong PROCESS_WARM_UP = new AtomicLong(SCALAR_WARM_UP_MACS);

  /**
   * y = W·x with W (N, K): either Wᵀ packed in FP32 panels of 8 columns ({@code wt}: panel b holds
   * Wᵀ[p, 8b + l] at {@code (b·K + p)·8 + l}, the last panel zero-padded so that it stays one
   * vector), or the stored tensor.
   */
  private record Linear(Tensor w, float[] wt, int n, int k) {}

  private final LlamaConfig c;
  private final LlamaWeights w;
  private final int threads;
  private final int dim, hidden, heads, kvHeads, headDim, kvDim, vocab;
  private final Rope.Layout layout;
  private final float eps, scale;
  private final float[][] attnNorm, ffnNorm;
  private final float[] finalNorm;
  private final Linear[] wo, wDown;

  /** Per layer: {q, k, v} and {gate, up}, each group one split over threads when streamed. */
  private final Linear[][] wQkv, wGateUp;

  private final Linear classifier;
  private final float[] x, xb, q, k, v, o, hb, hb2, expNeg, logits, attn;

  /** Scores then probabilities of every head: (H, capacity), grown with the caches. */
  private float[] att = new float[0];

  private final Tensor xbT, attnT, hbT;
  private final float[][] qkv, gateUp;
  private final float[] invFreq, cos, sin;

  /** Per layer: keys transposed (Hkv·D, capacity), values (capacity, Hkv·D). */
  private final float[][] kCache, vCache;

  private int capacity;
  private int pos;

  /** Scalar budget this decoder draws from (null: streamed weights, always the vector kernels). */
  private final AtomicLong warmUp;

  /** Multiply-adds of the linear layers per position: what a scalar position takes from warmUp. */
  private final long macsPerPosition;

  Fp32Decoder(LlamaWeights w, OpContext ctx) {
    this(w, ctx, linearBytes(w.config()) <= PACK_LIMIT_BYTES);
  }

  /** {@code pack}: transposed float copies of the weights (small models) or streamed storage. */
  Fp32Decoder(LlamaWeights w, OpContext ctx, boolean pack) {
    this(w, ctx, pack, PROCESS_WARM_UP);
  }

  /**
   * {@code warmUp}: the multiply-adds left to run on the scalar twins (packed weights only; the
   * process's shared budget, or a test's own: {@code Long.MAX_VALUE} always scalar, 0 never).
   */
  Fp32Decoder(LlamaWeights w, OpContext ctx, boolean pack, AtomicLong warmUp) {
    this.c = w.config();
    this.warmUp = pack ? warmUp : null;
    this.macsPerPosition = linearMacs(w.config());
    this.w = w;
    this.threads = ctx.threads();
    dim = c.dim();
    hidden = c.hiddenDim();
    heads = c.nHeads();
    kvHeads = c.nKvHeads();
    headDim = c.headDim();
    kvDim = c.kvDim();
    vocab = c.vocabSize();
    layout =
        c.ropeLayout() == RopeLayout.META_INTERLEAVED ? Rope.Layout.INTERLEAVED : Rope.Layout.HALF;
    eps = (float) Precision.round(FloatFormat.FP32, c.normEps());
    scale = (float) (1.0 / Math.sqrt(headDim));
    int layers = c.nLayers();
    attnNorm = new float[layers][];
    ffnNorm = new float[layers][];
    wo = new Linear[layers];
    wDown = new Linear[layers];
    wQkv = new Linear[layers][];
    wGateUp = new Linear[layers][];
    for (int l = 0; l < layers; l++) {
      LayerWeights lw = w.layers().get(l);
      attnNorm[l] = lw.attnNorm().toFloatArray();
      ffnNorm[l] = lw.ffnNorm().toFloatArray();
      wQkv[l] = new Linear[] {linear(lw.wq(), pack), linear(lw.wk(), pack), linear(lw.wv(), pack)};
      wo[l] = linear(lw.wo(), pack);
      wGateUp[l] = new Linear[] {linear(lw.wGate(), pack), linear(lw.wUp(), pack)};
      wDown[l] = linear(lw.wDown(), pack);
    }
    classifier = linear(w.classifier(), pack);
    finalNorm = w.finalNorm().toFloatArray();
    x = new float[dim];
    xb = new float[dim];
    q = new float[heads * headDim];
    k = new float[kvDim];
    v = new float[kvDim];
    attn = new float[heads * headDim];
    o = new float[dim];
    hb = new float[hidden];
    hb2 = new float[hidden];
    expNeg = new float[hidden];
    logits = new float[vocab];
    xbT = wrap(xb);
    attnT = wrap(attn);
    hbT = wrap(hb);
    qkv = new float[][] {q, k, v};
    gateUp = new float[][] {hb, hb2};
    invFreq = Rope.inverseFrequenciesFp32(c.ropeTheta(), headDim);
    cos = new float[headDim / 2];
    sin = new float[headDim / 2];
    kCache = new float[layers][];
    vCache = new float[layers][];
  }

  /** Bytes of all linear weights (and the classifier) in FP32: what packing would allocate. */
  private static long linearBytes(LlamaConfig c) {
    long perLayer =
        2L * c.dim() * c.dim() + 2L * c.kvDim() * c.dim() + 3L * c.hiddenDim() * c.dim();
    return 4 * (c.nLayers() * perLayer + (long) c.vocabSize() * c.dim());
  }

  /** Multiply-adds of the linear layers (and the classifier) per position. */
  static long linearMacs(LlamaConfig c) {
    return linearBytes(c) / 4;
  }

  /** W (N, K) as a {@link Linear}: transposed into a float (K, N) copy when packing. */
  private static Linear linear(Tensor weight, boolean pack) {
    int n = Math.toIntExact(weight.shape().rows()), kk = Math.toIntExact(weight.shape().cols());
    if (!pack) {
      return new Linear(weight, null, n, kk);
    }
    float[] wt = new float[Math.multiplyExact(n + (-n & 7), kk)];
    // one bulk copy (or exact 16-bit decode) of all rows: a decodeRow call per row cost ~30 ms of
    // interpreted MemorySegment.copy calls at start-up on stories260K (docs/guide/startup.md)
    float[] rows = weight.toFloatArray();
    for (int j = 0; j < n; j++) {
      int base = (j / 8) * 8 * kk + j % 8;
      for (int p = 0, r = j * kk; p < kk; p++) {
        wt[base + 8 * p] = rows[r + p];
      }
    }
    return new Linear(null, wt, n, kk);
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
      throw new IllegalArgumentException(
          "token " + token + " is outside the vocabulary [0, " + vocab + ")");
    }
    grow();
    if (scalarPosition()) {
      return nextScalar(token);
    }
    Fp32Rows.decodeRow(w.embedding(), token, x);
    Rope.anglesFp32(pos, invFreq, cos, sin);
    for (int l = 0; l < c.nLayers(); l++) {
      RmsNorm.rowFp32(x, 0, attnNorm[l], eps, xb, 0, dim);
      matvecs(xb, xbT, wQkv[l], qkv);
      Rope.rotateFp32(q, 0, q, 0, heads, headDim, layout, cos, sin);
      Rope.rotateFp32(k, 0, k, 0, kvHeads, headDim, layout, cos, sin);
      float[] kc = kCache[l];
      for (int i = 0; i < kvDim; i++) {
        kc[i * capacity + pos] = k[i];
      }
      System.arraycopy(v, 0, vCache[l], pos * kvDim, kvDim);
      attention(kc, vCache[l]);
      matvec(wo[l], attn, attnT, o);
      for (int i = 0; i < dim; i++) {
        x[i] += o[i];
      }
      RmsNorm.rowFp32(x, 0, ffnNorm[l], eps, xb, 0, dim);
      matvecs(xb, xbT, wGateUp[l], gateUp);
      SwiGlu.rowFp32(hb, 0, hb2, 0, hb, 0, hidden, expNeg);
      matvec(wDown[l], hb, hbT, o);
      for (int i = 0; i < dim; i++) {
        x[i] += o[i];
      }
    }
    RmsNorm.rowFp32(x, 0, finalNorm, eps, xb, 0, dim);
    matvec(classifier, xb, xbT, logits);
    pos++;
    return logits.clone();
  }

  /**
   * Whether this position runs on the scalar twins: packed weights while the warm-up budget lasts
   * (the budget is taken before the position, so a position is all scalar or all vector).
   */
  private boolean scalarPosition() {
    return warmUp != null && warmUp.get() > 0 && warmUp.getAndAdd(-macsPerPosition) > 0;
  }

  /**
   * {@link #next}'s step (after its checks and {@link #grow}) on the kernels' scalar twins, packed
   * weights only: the same operations in the same order, line for line. Kept apart from the vector
   * step: with both in one method C2 compiled the scalar branches into the steady-state code (they
   * had run during warm-up) and the decode lost ~10% (DecodeCpuTime, docs/guide/startup.md).
   */
  private float[] nextScalar(int token) {
    Fp32Rows.decodeRow(w.embedding(), token, x);
    Rope.anglesFp32(pos, invFreq, cos, sin);
    for (int l = 0; l < c.nLayers(); l++) {
      RmsNorm.rowFp32Scalar(x, 0, attnNorm[l], eps, xb, 0, dim);
      for (int m = 0; m < 3; m++) {
        matvecScalar(wQkv[l][m], xb, qkv[m]);
      }
      Rope.rotateFp32(q, 0, q, 0, heads, headDim, layout, cos, sin);
      Rope.rotateFp32(k, 0, k, 0, kvHeads, headDim, layout, cos, sin);
      float[] kc = kCache[l];
      for (int i = 0; i < kvDim; i++) {
        kc[i * capacity + pos] = k[i];
      }
      System.arraycopy(v, 0, vCache[l], pos * kvDim, kvDim);
      attentionScalar(kc, vCache[l]);
      matvecScalar(wo[l], attn, o);
      for (int i = 0; i < dim; i++) {
        x[i] += o[i];
      }
      RmsNorm.rowFp32Scalar(x, 0, ffnNorm[l], eps, xb, 0, dim);
      matvecScalar(wGateUp[l][0], xb, hb);
      matvecScalar(wGateUp[l][1], xb, hb2);
      SwiGlu.rowFp32Scalar(hb, 0, hb2, 0, hb, 0, hidden);
      matvecScalar(wDown[l], hb, o);
      for (int i = 0; i < dim; i++) {
        x[i] += o[i];
      }
    }
    RmsNorm.rowFp32Scalar(x, 0, finalNorm, eps, xb, 0, dim);
    matvecScalar(classifier, xb, logits);
    pos++;
    return logits.clone();
  }

  /** out = W·in on packed weights, {@link Fp32Rows#dotColumns}'s scalar twin. */
  private static void matvecScalar(Linear lin, float[] in, float[] out) {
    Fp32Rows.dotColumnsScalar(in, 0, lin.wt(), 0, 8, 8 * lin.k(), lin.k(), out, 0, lin.n());
  }

  /** {@link #attention} on the scalar twins: each head's scores, softmax and P·v. */
  private void attentionScalar(float[] kc, float[] vc) {
    int group = heads / kvHeads, n = pos + 1;
    for (int h = 0; h < heads; h++) {
      int a = h * n, ko = (h / group) * headDim;
      Fp32Rows.dotColumnsScalar(q, h * headDim, kc, ko * capacity, capacity, 8, headDim, att, a, n);
      for (int t = a; t < a + n; t++) {
        att[t] *= scale;
      }
    }
    Softmax.rowsFp32Scalar(att, 0, heads, n, att, 0);
    for (int h = 0; h < heads; h++) {
      Fp32Rows.weightedRowsScalar(
          att, h * n, vc, (h / group) * headDim, kvDim, n, attn, h * headDim, headDim);
    }
  }

  /** out = W·in; {@code inT} wraps {@code in} for the streamed path. Same bits either way. */
  private void matvec(Linear lin, float[] in, Tensor inT, float[] out) {
    matvecs(in, inT, new Linear[] {lin}, new float[][] {out});
  }

  /** outs[m] = lins[m]·in: packed, one after the other; streamed, as one split over threads. */
  private void matvecs(float[] in, Tensor inT, Linear[] lins, float[][] outs) {
    if (lins[0].wt() == null) {
      Tensor[] ws = new Tensor[lins.length];
      for (int m = 0; m < lins.length; m++) {
        ws[m] = lins[m].w();
      }
      Fp32Rows.matvecs(inT, ws, outs, threads);
      return;
    }
    for (int m = 0; m < lins.length; m++) {
      Linear lin = lins[m];
      Fp32Rows.dotColumns(in, 0, lin.wt(), 0, 8, 8 * lin.k(), lin.k(), outs[m], 0, lin.n());
    }
  }

  /**
   * Causal GQA attention of the current query over positions 0…pos, as {@code CausalAttention}
   * computes it with an FP32 accumulator: the scores of a head are the ordered dots of its query
   * with the cached keys ({@link Fp32Rows#dotColumns} over the transposed cache: {@link
   * Fp32Rows#dot}'s bits), the softmax is {@link Softmax#rowsFp32}, P·v is {@link
   * Fp32Rows#weightedRows}.
   */
  private void attention(float[] kc, float[] vc) {
    int group = heads / kvHeads, n = pos + 1;
    // att: (H, n), the scores and then the probabilities of every head
    for (int h = 0; h < heads; h++) {
      int a = h * n, ko = (h / group) * headDim;
      Fp32Rows.dotColumns(q, h * headDim, kc, ko * capacity, capacity, 8, headDim, att, a, n);
      for (int t = a; t < a + n; t++) {
        att[t] *= scale;
      }
    }
    Softmax.rowsFp32(att, 0, heads, n, att, 0);
    for (int h = 0; h < heads; h++) {
      Fp32Rows.weightedRows(
          att, h * n, vc, (h / group) * headDim, kvDim, n, attn, h * headDim, headDim);
    }
  }

  /**
   * Makes room for position {@code pos} in every layer's cache (doubling, at most T_max positions);
   * the transposed keys move row by row to the new stride.
   */
  private void grow() {
    if (pos < capacity) {
      return;
    }
    int cap = Math.min(c.maxSeqLen(), Math.max(16, 2 * capacity));
    int size = Math.multiplyExact(cap, kvDim);
    // sized by the positions used, not by T_max: a config may declare 2^28 positions
    att = new float[Math.multiplyExact(heads, cap)];
    for (int l = 0; l < c.nLayers(); l++) {
      float[] kt = new float[size];
      if (kCache[l] != null) {
        for (int i = 0; i < kvDim; i++) {
          System.arraycopy(kCache[l], i * capacity, kt, i * cap, capacity);
        }
      }
      kCache[l] = kt;
      vCache[l] = vCache[l] == null ? new float[size] : Arrays.copyOf(vCache[l], size);
    }
    capacity = cap;
  }
}
