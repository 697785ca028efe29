package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.ElementwiseKernels;
import io.nanscope.engine.simd.StatsKernels;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Causal scaled dot-product attention with grouped-query heads (Vaswani et al. 2017 eq. 1; GQA,
 * Ainslie et al. 2023), as HF's eager Llama attention computes it: {@code S = q·kᵀ}, {@code S' =
 * S·(1/√D)}, {@code S'' = S' + mask}, {@code P = softmax(S'')}, {@code o = P·v}. Query head h reads
 * key/value head {@code h / (H/Hkv)}.
 *
 * <p>Shapes: q: (Tq, H·D); k, v: (Tk, Hkv·D); P: (H, Tq, Tk); o: (Tq, H·D). Query i sits at
 * position {@code Tk − Tq + i} (Tq = Tk in sequence mode; Tq = 1 when decoding with a KV cache) and
 * may attend to keys {@code j ≤ Tk − Tq + i} whose {@code keyMask[j]} is true (padding mask; null =
 * all keys valid).
 *
 * <p>Precision: two precisions, as HF runs two kinds of op. {@code gemm} ({@link
 * OpKind#ATTENTION}): q·kᵀ accumulated in {@code accumulate} and rounded to {@code output}; the
 * scaling and the mask addition each rounded to {@code output}; the mask is the additive {@code
 * finfo(output).min} ({@code −maxFinite}), so in FP16 a score ≤ −16 plus −65504 becomes −inf;
 * {@code P·v} accumulated and rounded to {@code output}. {@code softmax} ({@link
 * OpKind#ATTENTION_SOFTMAX}): the row softmax in its compute/accumulate formats, P rounded to its
 * output ({@code softmax(…, dtype=float32) .to(q.dtype)}). A row with every key masked holds only
 * {@code min} values and gets a uniform P (finite), or NaN once the mask addition overflowed to
 * −inf everywhere.
 *
 * <p>Backward (per head, with dO: (Tq, D)): {@code dV_j = Σ_i P_ij·dO_i}; {@code dP_ij = dO_i·v_j};
 * {@code dS''_ij = P_ij·(dP_ij − Σ_k P_ik·dP_ik)} (softmax backward); the mask is additive, so
 * {@code dS' = dS''}; {@code dS = dS'/√D}; {@code dQ_i = Σ_j dS_ij·k_j}; {@code dK_j = Σ_i
 * dS_ij·q_i}. dK and dV sum over the H/Hkv query heads that share the key/value head.
 */
public final class CausalAttention {

  private CausalAttention() {}

  /** The output and what backward reads: P (H, Tq, Tk) in the softmax's output format. */
  public record Forward(Tensor out, Tensor probs) {}

  /** The dimensions of one call, checked once. */
  private record Dims(int tq, int tk, int h, int hkv, int d) {
    int group() {
      return h / hkv;
    }

    boolean visible(int i, int j, boolean[] keyMask) {
      return j <= tk - tq + i && (keyMask == null || keyMask[j]);
    }
  }

  private static Dims dims(
      Site site, Tensor q, Tensor k, Tensor v, int heads, int kvHeads, boolean[] keyMask) {
    int tq = Math.toIntExact(q.shape().rows()), tk = Math.toIntExact(k.shape().rows());
    long qc = q.shape().cols(), kc = k.shape().cols();
    Emit.check(
        heads > 0 && kvHeads > 0 && heads % kvHeads == 0,
        "attention at "
            + site
            + ": "
            + heads
            + " query heads do not group over "
            + kvHeads
            + " key/value heads");
    Emit.check(
        qc % heads == 0,
        "attention at " + site + ": q rows of " + qc + " do not split into " + heads + " heads");
    int d = (int) (qc / heads);
    Emit.check(
        kc == (long) kvHeads * d,
        "attention at " + site + ": k is " + k.shape() + ", expected (Tk, " + kvHeads * d + ")");
    Emit.sameShape("attention at " + site, "k", k, "v", v);
    Emit.check(tq <= tk, "attention at " + site + ": " + tq + " queries but only " + tk + " keys");
    Emit.check(
        keyMask == null || keyMask.length == tk,
        "attention at "
            + site
            + ": key mask has "
            + (keyMask == null ? 0 : keyMask.length)
            + " entries for "
            + tk
            + " keys");
    return new Dims(tq, tk, heads, kvHeads, d);
  }

  public static Forward forward(
      OpContext ctx,
      Site site,
      Precision gemm,
      Precision softmax,
      Tensor q,
      Tensor k,
      Tensor v,
      int heads,
      int kvHeads,
      boolean[] keyMask) {
    return forward(ctx, site, gemm, softmax, q, k, v, heads, kvHeads, keyMask, true);
  }

  /**
   * {@link #forward(OpContext, Site, Precision, Precision, Tensor, Tensor, Tensor, int, int,
   * boolean[])}; {@code skipMasked = false} computes every masked score (the dense twin the tests
   * compare the skipping path against, bit for bit).
   */
  static Forward forward(
      OpContext ctx,
      Site site,
      Precision gemm,
      Precision softmax,
      Tensor q,
      Tensor k,
      Tensor v,
      int heads,
      int kvHeads,
      boolean[] keyMask,
      boolean skipMasked) {
    if (floatPath(gemm, softmax, q, k, v)) {
      return forwardFloats(ctx, site, gemm, softmax, q, k, v, heads, kvHeads, keyMask, skipMasked);
    }
    return forwardDoubles(ctx, site, gemm, softmax, q, k, v, heads, kvHeads, keyMask, skipMasked);
  }

  /**
   * Whether the op runs on floats: both precisions keep their element-wise intermediates and their
   * running sums in FP32 (all FP32, and the pytorch-fp16/bf16 policies: storage S, FP32 inside),
   * both output formats are ones a float rounds to ({@link Emit#roundsFromFloat}), and no input is
   * FP64. Then every value the double path forms is a float (see {@link #forwardFloats}), and
   * {@code naive}/{@code strict} policies (compute or accumulate in S) keep the double path.
   */
  private static boolean floatPath(Precision gemm, Precision softmax, Tensor... inputs) {
    if (!fp32Inside(gemm)
        || !fp32Inside(softmax)
        || !Emit.roundsFromFloat(gemm.output())
        || !Emit.roundsFromFloat(softmax.output())) {
      return false;
    }
    for (Tensor t : inputs) {
      if (t.format() == FloatFormat.FP64) {
        return false;
      }
    }
    return true;
  }

  private static boolean fp32Inside(Precision p) {
    return p.accumulate() == FloatFormat.FP32 && p.compute() == FloatFormat.FP32;
  }

  /**
   * The forward on floats, for every precision {@link #floatPath} admits: the double path's steps
   * with its roundings written as float operations, so the same bits (tested against {@link
   * #forwardDoubles}). Write R for rounding to {@code gemm.output()} (the identity for FP32) and
   * R_P for {@code softmax.output()}. Every value the double path holds is a float, because every
   * step ends in a rounding to FP32 or to a narrower format:
   *
   * <ul>
   *   <li>the score {@code R(q·k)}: {@link Reduce#dot} with FP32 copies is {@link Fp32Rows#dot}; R
   *       of that float is {@link Emit#roundOutput} on floats (the same single rounding, the same
   *       stochastic index row + j);
   *   <li>{@code R(R_32(s·scale))}: s and scale are floats, their double product is exact (48 ≤ 53
   *       bits), so R_32 of it is the float product; then R;
   *   <li>masked keys {@code R(R_32(s + finfo.min))}: the double sum of two floats is correctly
   *       rounded and 53 ≥ 2·24 + 2, so R_32 of it is the float sum (Figueroa 1995); then R;
   *   <li>the row softmax with compute and accumulate FP32 is {@link Softmax#rowsFp32} (its
   *       javadoc); then R_P of each float;
   *   <li>{@code o_i = Σ_j P_ij·v_j} sequential in j from +0, product then sum in FP32 ({@link
   *       Reduce#axpy}) is {@link Fp32Rows#weightedRows}; o is rounded once by {@link Emit#output}.
   * </ul>
   *
   * <p>Nothing here needs FP64: no value is rounded to a 16-bit format from anything but a float
   * the double path also rounds (a double that is a float rounds to S exactly as the float does).
   * Which masked keys are skipped is decided exactly as there ({@link MaskedTail} on the same
   * values).
   */
  private static Forward forwardFloats(
      OpContext ctx,
      Site site,
      Precision gemm,
      Precision softmax,
      Tensor q,
      Tensor k,
      Tensor v,
      int heads,
      int kvHeads,
      boolean[] keyMask,
      boolean skipMasked) {
    Dims m = dims(site, q, k, v, heads, kvHeads, keyMask);
    int tq = m.tq, tk = m.tk, d = m.d, qs = m.h * d, ks = m.hkv * d;
    float[] qf = q.toFloatArray(), kf = k.toFloatArray(), vf = v.toFloatArray();
    float scale = (float) (1.0 / Math.sqrt(d)); // R_32(1/√D), as gemm.roundCompute
    float maskMin = (float) -gemm.output().info().maxFinite(); // a float: roundsFromFloat(output)
    // P (H, Tq, Tk) is what backward reads; masked entries that are skipped stay exact +0.
    float[] probs = new float[Math.multiplyExact(Math.multiplyExact(m.h, tq), tk)];
    float[] scores = new float[tk];
    float[] out = new float[Math.multiplyExact(tq, qs)];
    int maskLen = skipMasked ? prefixLength(keyMask, tk) : -1;
    boolean anyMasked = maskLen >= 0 && Math.min(tk - tq + 1, maskLen) < tk;
    double[] qv = anyMasked ? q.toDoubleArray() : null;
    MaskedTail tail =
        anyMasked
            ? MaskedTail.forward(m, gemm, softmax, qv, k.toDoubleArray(), v.toDoubleArray())
            : null;
    // Traced: P's stats counted head by head while the head's (Tq, Tk) block is in cache (the bit
    // census of its floats, the masked +0 entries included); a head with NaN or inf leaves the
    // count to the tracer's own pass.
    FloatFormat pf = softmax.output();
    StatsKernels.BitCensus pc = ctx.tracer().enabled() ? new StatsKernels.BitCensus() : null;
    int minNormalBits = Float.floatToRawIntBits((float) pf.info().minNormal());
    for (int h = 0; h < m.h; h++) {
      int kvh = h / m.group();
      for (int i = 0; i < tq; i++) {
        int row = (h * tq + i) * tk, qo = i * qs + h * d;
        int lim = tail == null ? tk : Math.min(tk - tq + i + 1, maskLen);
        if (lim <= 0) {
          lim = tk;
        }
        scoresFloats(gemm, m, qf, qo, kf, kvh, scale, maskMin, keyMask, i, row, 0, lim, scores);
        if (lim < tk && !tail.vanishes(qv, qo, kvh, lim, maxOf(scores, lim))) {
          scoresFloats(gemm, m, qf, qo, kf, kvh, scale, maskMin, keyMask, i, row, lim, tk, scores);
          lim = tk;
        }
        Softmax.rowsFp32(scores, 0, 1, lim, probs, row);
        Emit.roundOutput(softmax, probs, row, row + lim, row);
        Fp32Rows.weightedRows(probs, row, vf, kvh * d, ks, lim, out, qo, d);
      }
      if (pc != null && !StatsKernels.census32(probs, h * tq * tk, tq * tk, minNormalBits, pc)) {
        pc = null;
      }
    }
    Tensor p = Tensor.ofFloats(pf, Shape.of(m.h, tq, tk), probs);
    // probs holds P rounded to its format (every entry rounded by roundOutput or a skipped +0),
    // and p stores it: reported as it is
    Emit.recordStored(
        ctx,
        site.child("softmax"),
        "attention.softmax",
        Phase.FORWARD,
        p,
        probs,
        Emit.roundsToCanonical(softmax),
        pc,
        q,
        k);
    Tensor o = Emit.output(ctx, site, "attention", Phase.FORWARD, gemm, q.shape(), out, q, k, v);
    return new Forward(o, p);
  }

  /**
   * S''_ij of query row qo (head group kvh, P row offset row) for keys j in [from, to), on floats:
   * {@code R(R(R(q·k)·scale))}, then {@code R(· + finfo.min)} where key j is masked.
   */
  private static void scoresFloats(
      Precision gemm,
      Dims m,
      float[] qf,
      int qo,
      float[] kf,
      int kvh,
      float scale,
      float maskMin,
      boolean[] keyMask,
      int i,
      int row,
      int from,
      int to,
      float[] scores) {
    int ks = m.hkv * m.d;
    for (int j = from; j < to; j++) {
      scores[j] = Fp32Rows.dot(qf, qo, kf, j * ks + kvh * m.d, m.d);
    }
    Emit.roundOutput(gemm, scores, from, to, row + from);
    ElementwiseKernels.scale(scale, scores, from, scores, from, to - from);
    Emit.roundOutput(gemm, scores, from, to, row + from);
    for (int j = from; j < to; j++) {
      if (!m.visible(i, j, keyMask)) {
        scores[j] = Emit.roundOutput(gemm, scores[j] + maskMin, row + j);
      }
    }
  }

  /** max over x[0, n), NaN if any is NaN (as the softmax's own max). */
  private static double maxOf(float[] x, int n) {
    float mx = Float.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      mx = Math.max(mx, x[j]);
    }
    return mx;
  }

  /** The double path of the forward (any precision; the float path's oracle in the tests). */
  static Forward forwardDoubles(
      OpContext ctx,
      Site site,
      Precision gemm,
      Precision softmax,
      Tensor q,
      Tensor k,
      Tensor v,
      int heads,
      int kvHeads,
      boolean[] keyMask,
      boolean skipMasked) {
    Dims m = dims(site, q, k, v, heads, kvHeads, keyMask);
    int tq = m.tq, tk = m.tk, d = m.d, qs = m.h * d, ks = m.hkv * d;
    double[] qv = q.toDoubleArray(), kv = k.toDoubleArray(), vv = v.toDoubleArray();
    float[] qf = Reduce.floatsFor(gemm.accumulate(), qv),
        kf = Reduce.floatsFor(gemm.accumulate(), kv);
    double scale = gemm.roundCompute(1.0 / Math.sqrt(d));
    double maskMin = -gemm.output().info().maxFinite();
    // P (H, Tq, Tk) is what backward reads; masked entries that are skipped stay exact +0.
    double[] probs = new double[Math.multiplyExact(Math.multiplyExact(m.h, tq), tk)];
    double[] scores = new double[tk];
    double[] out = new double[Math.multiplyExact(tq, qs)];
    int maskLen = skipMasked ? prefixLength(keyMask, tk) : -1;
    // Some query has masked keys past its visible ones unless this is one unpadded decode row.
    boolean anyMasked = maskLen >= 0 && Math.min(tk - tq + 1, maskLen) < tk;
    MaskedTail tail = anyMasked ? MaskedTail.forward(m, gemm, softmax, qv, kv, vv) : null;
    for (int h = 0; h < m.h; h++) {
      int kvh = h / m.group();
      for (int i = 0; i < tq; i++) {
        int row = (h * tq + i) * tk;
        // Keys [0, lim) are the visible ones when the mask is causal + a padding prefix.
        int lim = tail == null ? tk : Math.min(tk - tq + i + 1, maskLen);
        if (lim <= 0) {
          lim = tk;
        }
        for (int j = 0; j < lim; j++) {
          scores[j] = score(gemm, m, qv, qf, kv, kf, scale, maskMin, keyMask, h, kvh, i, j, row);
        }
        if (lim < tk && !tail.vanishes(qv, i * qs + h * d, kvh, lim, maxOf(scores, lim))) {
          for (int j = lim; j < tk; j++) {
            scores[j] = score(gemm, m, qv, qf, kv, kf, scale, maskMin, keyMask, h, kvh, i, j, row);
          }
          lim = tk;
        }
        Softmax.row(softmax, scores, 0, lim, probs, row);
        for (int j = 0; j < lim; j++) {
          probs[row + j] = softmax.roundOutput(probs[row + j], row + j);
        }
        for (int j = 0; j < lim; j++) { // o_i = Σ_j P_ij·v_j, sequential in j for every c
          Reduce.axpy(
              gemm.accumulate(), out, i * qs + h * d, probs[row + j], vv, j * ks + kvh * d, d);
        }
      }
    }
    Tensor p = Tensor.ofDoubles(softmax.output(), Shape.of(m.h, tq, tk), probs);
    // probs holds P rounded to its format, and p stores it: reported as it is
    Emit.recordStored(
        ctx, site.child("softmax"), "attention.softmax", Phase.FORWARD, p, probs, q, k);
    Tensor o = Emit.output(ctx, site, "attention", Phase.FORWARD, gemm, q.shape(), out, q, k, v);
    return new Forward(o, p);
  }

  /** S''_ij of query head h: the scaled score, plus {@code finfo.min} where key j is masked. */
  private static double score(
      Precision gemm,
      Dims m,
      double[] qv,
      float[] qf,
      double[] kv,
      float[] kf,
      double scale,
      double maskMin,
      boolean[] keyMask,
      int h,
      int kvh,
      int i,
      int j,
      int row) {
    int d = m.d;
    double s =
        gemm.roundOutput(
            Reduce.dot(
                gemm.accumulate(), qv, qf, i * m.h * d + h * d, kv, kf, j * m.hkv * d + kvh * d, d),
            row + j);
    s = gemm.roundOutput(gemm.roundCompute(s * scale), row + j);
    return m.visible(i, j, keyMask) ? s : gemm.roundOutput(gemm.roundCompute(s + maskMin), row + j);
  }

  /** max over x[0, n), NaN if any is NaN (as the softmax's own max). */
  private static double maxOf(double[] x, int n) {
    double mx = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      mx = Math.max(mx, x[j]);
    }
    return mx;
  }

  /** n when the mask is n trues then falses (null: tk), else −1 (no skipping). */
  private static int prefixLength(boolean[] keyMask, int tk) {
    if (keyMask == null) {
      return tk;
    }
    int n = 0;
    while (n < tk && keyMask[n]) {
      n++;
    }
    for (int j = n; j < tk; j++) {
      if (keyMask[j]) {
        return -1;
      }
    }
    return n;
  }

  /**
   * When the keys past a query's visible ones (causal or padding: a suffix [lim, Tk) of the keys)
   * can be skipped without changing a bit, and why.
   *
   * <p>Forward: a masked score is {@code x = R(R(s + finfo.min))} with {@code |s| ≤ ‖q‖·‖k‖} up to
   * the roundings (Cauchy–Schwarz; the bound below carries a generous factor for the dot's γ_D and
   * the two roundings of the scaling). If that bound puts every masked x at least 800 below the
   * visible maximum m, then m is the row's maximum, {@code R_c(x − m) ≤ −800}, {@code exp} of it is
   * exactly 0 in double, the softmax sum gains only +0 terms (a sum ≥ 1 does not change), and P_ij
   * = +0. {@code P_ij·v_j} is then ±0 when v_j is finite, and adding ±0 does not change a running
   * sum that starts at +0: a sum of two values of the accumulator's format (multiples of its
   * smallest subnormal) is zero only by exact cancellation, which gives +0 under round-to-nearest,
   * so the accumulator is never −0. Non-finite q, k or v anywhere (0·inf = NaN reaches earlier rows
   * in PyTorch too) or a format other than FP64/FP32/FP16/BF16 turns skipping off.
   *
   * <p>Backward: where P_ij = +0 over a suffix of a row, {@code dS_ij = R(P_ij·R(dP_ij − Σ))} is ±0
   * if dP_ij and dP_ij − Σ are finite (bounded like the scores, with ‖dO_i‖·‖v_j‖), and then every
   * term it feeds (dQ_i, dK_j, and P_ij·dO_i in dV_j) is ±0: skipped, by the argument above.
   */
  private static final class MaskedTail {
    private final Dims m;

    /** suffixMax[kvh·(Tk+1) + j] = max over j' ≥ j of ‖row j' of head kvh‖ (0 at j = Tk). */
    private final double[] suffixMax;

    private final double gamma;
    private final double scale;
    private final double firstLimit;
    private final double secondLimit;
    private final double secondMin;

    private MaskedTail(
        Dims m,
        double[] suffixMax,
        double gamma,
        double scale,
        double firstLimit,
        double secondLimit,
        double secondMin) {
      this.m = m;
      this.suffixMax = suffixMax;
      this.gamma = gamma;
      this.scale = scale;
      this.firstLimit = firstLimit;
      this.secondLimit = secondLimit;
      this.secondMin = secondMin;
    }

    /** For the forward: keys' norms; null when any input is non-finite or a format is exotic. */
    static MaskedTail forward(
        Dims m, Precision gemm, Precision softmax, double[] qv, double[] kv, double[] vv) {
      if (!plain(gemm, softmax) || !finite(qv) || !finite(kv) || !finite(vv)) {
        return null;
      }
      double maxOut = gemm.output().info().maxFinite();
      return of(m, gemm, kv, gemm.roundCompute(1.0 / Math.sqrt(m.d)), maxOut, maxOut, -maxOut);
    }

    /** For the backward: values' norms (dP_ij = dO_i·v_j). */
    static MaskedTail backward(
        Dims m,
        Precision gemm,
        Precision softmax,
        double[] qv,
        double[] kv,
        double[] vv,
        double[] g) {
      if (!plain(gemm, softmax) || !finite(qv) || !finite(kv) || !finite(vv) || !finite(g)) {
        return null;
      }
      return of(
          m,
          gemm,
          vv,
          1.0,
          gemm.output().info().maxFinite(),
          softmax.compute().info().maxFinite(),
          0);
    }

    /** {@link #backward} from float arrays (the same values, the same decisions). */
    static MaskedTail backward(
        Dims m, Precision gemm, Precision softmax, float[] qf, float[] kf, float[] vf, float[] g) {
      if (!plain(gemm, softmax) || !finite(qf) || !finite(kf) || !finite(vf) || !finite(g)) {
        return null;
      }
      double[] vv = new double[vf.length];
      for (int i = 0; i < vf.length; i++) {
        vv[i] = vf[i];
      }
      return of(
          m,
          gemm,
          vv,
          1.0,
          gemm.output().info().maxFinite(),
          softmax.compute().info().maxFinite(),
          0);
    }

    private static MaskedTail of(
        Dims m,
        Precision gemm,
        double[] rows,
        double scale,
        double firstLimit,
        double secondLimit,
        double secondMin) {
      double u = Math.scalb(1.0, -gemm.accumulate().info().precisionBits());
      double nu = (m.d + 1) * u;
      if (nu >= 0.25) {
        return null;
      }
      int tk = m.tk, d = m.d, ks = m.hkv * d;
      double[] suf = new double[m.hkv * (tk + 1)];
      for (int kvh = 0; kvh < m.hkv; kvh++) {
        double mx = 0;
        for (int j = tk - 1; j >= 0; j--) {
          mx = Math.max(mx, norm(rows, j * ks + kvh * d, d));
          suf[kvh * (tk + 1) + j] = mx;
        }
      }
      // γ for the dot (and the FP32 copies of wider inputs), then ×2 for every later rounding.
      double gamma = 2 * (1 + 2 * nu / (1 - nu)) * (1 + 0x1p-20);
      return new MaskedTail(m, suf, gamma, scale, firstLimit, secondLimit, secondMin);
    }

    /** Whether every key in [lim, Tk) of query row qo (head group kvh) gets exactly P = +0. */
    boolean vanishes(double[] qv, int qo, int kvh, int lim, double visibleMax) {
      double s = bound(qv, qo, kvh, lim);
      if (!(s <= firstLimit / 4) || !Double.isFinite(visibleMax)) {
        return false;
      }
      double xUpper = (s + secondMin) / 2; // masked score bound: (s − maxFinite) after roundings
      return xUpper <= visibleMax - 800;
    }

    /**
     * Whether dS_ij is ±0 for every j in [lim, Tk), where P_ij = +0: dP_ij finite and dP_ij − Σ
     * finite, with |Σ| ≤ {@code dotBound}.
     */
    boolean gradientVanishes(double[] g, int go, int kvh, int lim, double dotBound) {
      double s = bound(g, go, kvh, lim);
      return s <= firstLimit / 4 && s + dotBound <= secondLimit / 4;
    }

    /** {@link #gradientVanishes(double[], int, int, int, double)} for a float dO. */
    boolean gradientVanishes(float[] g, int go, int kvh, int lim, double dotBound) {
      double s = norm(g, go, m.d) * suffixMax[kvh * (m.tk + 1) + lim] * gamma * Math.abs(scale);
      return s <= firstLimit / 4 && s + dotBound <= secondLimit / 4;
    }

    /** ‖x_o‖·max over the suffix, with the rounding slack and the scale. */
    private double bound(double[] x, int xo, int kvh, int lim) {
      return norm(x, xo, m.d) * suffixMax[kvh * (m.tk + 1) + lim] * gamma * Math.abs(scale);
    }

    private static boolean plain(Precision gemm, Precision softmax) {
      return plain(gemm.output())
          && plain(gemm.accumulate())
          && plain(gemm.compute())
          && plain(softmax.output())
          && plain(softmax.accumulate())
          && plain(softmax.compute());
    }

    private static boolean plain(FloatFormat f) {
      return f == FloatFormat.FP64
          || f == FloatFormat.FP32
          || f == FloatFormat.FP16
          || f == FloatFormat.BF16;
    }

    private static boolean finite(double[] x) {
      for (double a : x) {
        if (!Double.isFinite(a)) {
          return false;
        }
      }
      return true;
    }

    private static boolean finite(float[] x) {
      for (float a : x) {
        if (!Float.isFinite(a)) {
          return false;
        }
      }
      return true;
    }

    private static double norm(float[] x, int o, int n) {
      double s = 0;
      for (int c = 0; c < n; c++) {
        s += (double) x[o + c] * x[o + c];
      }
      return Math.sqrt(s);
    }

    private static double norm(double[] x, int o, int n) {
      double s = 0;
      for (int c = 0; c < n; c++) {
        s += x[o + c] * x[o + c];
      }
      return Math.sqrt(s);
    }
  }

  /** The gradients of q, k and v (each null when its format is null), rounded to those formats. */
  public record Grads(Tensor dq, Tensor dk, Tensor dv) {}

  public static Grads backward(
      OpContext ctx,
      Site site,
      Precision gemm,
      Precision softmax,
      Tensor dOut,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor probs,
      int heads,
      int kvHeads,
      FloatFormat dqFormat,
      FloatFormat dkFormat,
      FloatFormat dvFormat) {
    return backward(
        ctx, site, gemm, softmax, dOut, q, k, v, probs, heads, kvHeads, dqFormat, dkFormat,
        dvFormat, true);
  }

  /**
   * The backward, one (head, query) row at a time: dS of the row is formed and consumed at once
   * (dQ_i; dK_j and dV_j accumulate over (h, i) in the same order as a sum over the whole (H, Tq,
   * Tk) dS would: heads outer, queries inner). {@code skipMasked = false} is the dense twin.
   */
  static Grads backward(
      OpContext ctx,
      Site site,
      Precision gemm,
      Precision softmax,
      Tensor dOut,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor probs,
      int heads,
      int kvHeads,
      FloatFormat dqFormat,
      FloatFormat dkFormat,
      FloatFormat dvFormat,
      boolean skipMasked) {
    if (floatPath(gemm, softmax, dOut, q, k, v, probs)
        && gradFromFloat(dqFormat)
        && gradFromFloat(dkFormat)
        && gradFromFloat(dvFormat)) {
      return backwardFloats(
          ctx,
          site,
          gemm,
          softmax,
          dOut,
          q,
          k,
          v,
          probs,
          heads,
          kvHeads,
          dqFormat,
          dkFormat,
          dvFormat,
          skipMasked);
    }
    return backwardDoubles(
        ctx,
        site,
        gemm,
        softmax,
        dOut,
        q,
        k,
        v,
        probs,
        heads,
        kvHeads,
        dqFormat,
        dkFormat,
        dvFormat,
        skipMasked);
  }

  private static boolean gradFromFloat(FloatFormat f) {
    return f == null || Emit.roundsFromFloat(f);
  }

  /**
   * The backward on floats, for every precision {@link #floatPath} admits (and gradient formats a
   * float rounds to): the double path's steps with its roundings as float operations, the same bits
   * (tested against {@link #backwardDoubles}). With R = rounding to {@code gemm.output()} and R_P
   * to {@code softmax.output()}:
   *
   * <ul>
   *   <li>{@code dP_ij = R(dO_i·v_j)}: {@link Reduce#dot} with FP32 copies is {@link Fp32Rows#dot},
   *       then R of the float ({@link Emit#roundOutput}, index row + j);
   *   <li>the softmax backward with compute and accumulate FP32 ({@link Softmax#rowBackward}):
   *       {@code Σ = Σ_k dP_ik·P_ik} sequential in FP32 from +0, then {@code R_32(P_ij · R_32(dP_ij
   *       − Σ))}: the double difference of two floats rounded to FP32 is the float difference (53 ≥
   *       2·24 + 2, Figueroa 1995), the double product of two floats is exact, so both are the
   *       float operations;
   *   <li>{@code dS_ij = R(R_32(R_P(dS''_ij)·scale))}: R_P, the float product, R;
   *   <li>{@code dQ_i = Σ_j dS_ij·k_j} sequential in j from +0 ({@link Reduce#axpy} in FP32 on a
   *       zeroed row) is {@link Fp32Rows#weightedRows}; {@code dK_j += dS_ij·q_i} and {@code dV_j
   *       += P_ij·dO_i} in the order (h, i) are {@link ElementwiseKernels#addOuter} per row, the
   *       float product then the float sum as {@link Reduce#axpy} in FP32.
   * </ul>
   *
   * <p>The masked-tail decisions (which trailing P = +0 keys are skipped, the bound on Σ, the
   * non-finite fallback) read the same values in double, so they decide the same.
   */
  private static Grads backwardFloats(
      OpContext ctx,
      Site site,
      Precision gemm,
      Precision softmax,
      Tensor dOut,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor probs,
      int heads,
      int kvHeads,
      FloatFormat dqFormat,
      FloatFormat dkFormat,
      FloatFormat dvFormat,
      boolean skipMasked) {
    Dims m = dims(site, q, k, v, heads, kvHeads, null);
    int tq = m.tq, tk = m.tk, d = m.d, qs = m.h * d, ks = m.hkv * d;
    float[] qf = q.toFloatArray(), kf = k.toFloatArray(), vf = v.toFloatArray();
    float[] g = dOut.toFloatArray(), pv = probs.toFloatArray();
    float scale = (float) (1.0 / Math.sqrt(d)); // R_32(1/√D), as gemm.roundCompute
    MaskedTail tail = skipMasked ? MaskedTail.backward(m, gemm, softmax, qf, kf, vf, g) : null;
    float[] dqv = dqFormat != null ? new float[qf.length] : null;
    float[] dkv = dkFormat != null ? new float[Math.multiplyExact(tk, ks)] : null;
    float[] dvv = dvFormat != null ? new float[Math.multiplyExact(tk, ks)] : null;
    float[] dp = new float[tk];
    float[] ds = new float[tk]; // one row of dS, scaled by 1/√D
    for (int h = 0; h < m.h; h++) {
      int kvh = h / m.group();
      for (int i = 0; i < tq; i++) {
        int row = (h * tq + i) * tk, go = i * qs + h * d;
        int lim = tk;
        if (tail != null) {
          while (lim > 0 && Float.floatToRawIntBits(pv[row + lim - 1]) == 0) {
            lim--;
          }
          if (lim == 0) {
            lim = tk;
          }
        }
        dpFloats(gemm, g, go, vf, kvh, ks, d, row, 0, lim, dp);
        if (lim < tk) {
          double dotBound = 0;
          for (int j = 0; j < lim; j++) {
            dotBound += Math.abs((double) dp[j] * pv[row + j]);
          }
          if (!tail.gradientVanishes(g, go, kvh, lim, 2 * dotBound)) {
            dpFloats(gemm, g, go, vf, kvh, ks, d, row, lim, tk, dp);
            lim = tk;
          }
        }
        softmaxBackwardFp32(pv, row, dp, lim, ds);
        if (lim < tk && !Float.isFinite(ds[lim - 1])) { // Σ_k P_ik·dP_ik was not finite
          dpFloats(gemm, g, go, vf, kvh, ks, d, row, lim, tk, dp);
          lim = tk;
          softmaxBackwardFp32(pv, row, dp, lim, ds);
        }
        Emit.roundOutput(softmax, ds, 0, lim, row);
        ElementwiseKernels.scale(scale, ds, 0, ds, 0, lim);
        Emit.roundOutput(gemm, ds, 0, lim, row);
        if (dqv != null) { // dQ_i = Σ_j dS_ij·k_j, sequential in j from +0
          Fp32Rows.weightedRows(ds, 0, kf, kvh * d, ks, lim, dqv, go, d);
        }
        if (dkv != null) { // dK_j += dS_ij·q_i
          ElementwiseKernels.addOuter(ds, 0, qf, go, dkv, kvh * d, ks, lim, d);
        }
        if (dvv != null) { // dV_j += P_ij·dO_i
          ElementwiseKernels.addOuter(pv, row, g, go, dvv, kvh * d, ks, lim, d);
        }
      }
    }
    Tensor dq = null, dk = null, dv = null;
    if (dqv != null) {
      dq =
          Emit.output(ctx, site, "attention.dq", Phase.BACKWARD, dqFormat, q.shape(), dqv, dOut, k);
    }
    if (dkv != null) {
      dk =
          Emit.output(ctx, site, "attention.dk", Phase.BACKWARD, dkFormat, k.shape(), dkv, dOut, q);
    }
    if (dvv != null) {
      dv =
          Emit.output(
              ctx, site, "attention.dv", Phase.BACKWARD, dvFormat, v.shape(), dvv, dOut, probs);
    }
    return new Grads(dq, dk, dv);
  }

  /** dP_ij = R(dO_i·v_j) for j in [from, to), on floats. */
  private static void dpFloats(
      Precision gemm,
      float[] g,
      int go,
      float[] vf,
      int kvh,
      int ks,
      int d,
      int row,
      int from,
      int to,
      float[] dp) {
    for (int j = from; j < to; j++) {
      dp[j] = Fp32Rows.dot(g, go, vf, j * ks + kvh * d, d);
    }
    Emit.roundOutput(gemm, dp, from, to, row + from);
  }

  /**
   * {@code ds_j = P_j·(dP_j − Σ_k dP_k·P_k)} over j in [0, n), all in FP32 ({@link
   * Softmax#rowBackward} with compute and accumulate FP32, on floats): Σ sequential from +0,
   * product then sum.
   */
  private static void softmaxBackwardFp32(float[] p, int po, float[] dp, int n, float[] ds) {
    float dot = 0f;
    for (int j = 0; j < n; j++) {
      dot += dp[j] * p[po + j];
    }
    ElementwiseKernels.subtract(dp, 0, dot, ds, 0, n);
    ElementwiseKernels.mul(p, po, ds, 0, ds, 0, n);
  }

  /** The double path of the backward (any precision; the float path's oracle in the tests). */
  static Grads backwardDoubles(
      OpContext ctx,
      Site site,
      Precision gemm,
      Precision softmax,
      Tensor dOut,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor probs,
      int heads,
      int kvHeads,
      FloatFormat dqFormat,
      FloatFormat dkFormat,
      FloatFormat dvFormat,
      boolean skipMasked) {
    Dims m = dims(site, q, k, v, heads, kvHeads, null);
    int tq = m.tq, tk = m.tk, d = m.d, qs = m.h * d, ks = m.hkv * d;
    double[] qv = q.toDoubleArray(), kv = k.toDoubleArray(), vv = v.toDoubleArray();
    double[] g = dOut.toDoubleArray(), pv = probs.toDoubleArray();
    float[] gf = Reduce.floatsFor(gemm.accumulate(), g),
        vf = Reduce.floatsFor(gemm.accumulate(), vv);
    double scale = gemm.roundCompute(1.0 / Math.sqrt(d));
    FloatFormat acc = gemm.accumulate();
    MaskedTail tail = skipMasked ? MaskedTail.backward(m, gemm, softmax, qv, kv, vv, g) : null;
    double[] dqv = dqFormat != null ? new double[qv.length] : null;
    double[] dkv = dkFormat != null ? new double[Math.multiplyExact(tk, ks)] : null;
    double[] dvv = dvFormat != null ? new double[Math.multiplyExact(tk, ks)] : null;
    double[] dp = new double[tk];
    double[] ds = new double[tk]; // one row of dS, already scaled by 1/√D
    for (int h = 0; h < m.h; h++) {
      int kvh = h / m.group();
      for (int i = 0; i < tq; i++) {
        int row = (h * tq + i) * tk, go = i * qs + h * d;
        int lim = tk;
        if (tail != null) {
          lim = tk;
          while (lim > 0 && Double.doubleToRawLongBits(pv[row + lim - 1]) == 0L) {
            lim--;
          }
          if (lim == 0) {
            lim = tk;
          }
        }
        for (int j = 0; j < lim; j++) {
          dp[j] =
              gemm.roundOutput(Reduce.dot(acc, g, gf, go, vv, vf, j * ks + kvh * d, d), row + j);
        }
        if (lim < tk) {
          double dotBound = 0;
          for (int j = 0; j < lim; j++) {
            dotBound += Math.abs(dp[j] * pv[row + j]);
          }
          if (!tail.gradientVanishes(g, go, kvh, lim, 2 * dotBound)) {
            lim = extendDp(gemm, acc, g, gf, vv, vf, go, kvh, ks, d, row, lim, tk, dp);
          }
        }
        Softmax.rowBackward(softmax, pv, row, dp, 0, lim, ds, 0);
        if (lim < tk && !Double.isFinite(ds[lim - 1])) { // Σ_k P_ik·dP_ik was not finite
          lim = extendDp(gemm, acc, g, gf, vv, vf, go, kvh, ks, d, row, lim, tk, dp);
          Softmax.rowBackward(softmax, pv, row, dp, 0, lim, ds, 0);
        }
        for (int j = 0; j < lim; j++) {
          double scaled = gemm.roundCompute(softmax.roundOutput(ds[j], row + j) * scale);
          ds[j] = gemm.roundOutput(scaled, row + j);
        }
        for (int j = 0; j < lim; j++) {
          if (dqv != null) { // dQ_i = Σ_j dS_ij·k_j, sequential in j
            Reduce.axpy(acc, dqv, go, ds[j], kv, j * ks + kvh * d, d);
          }
          if (dkv != null) { // dK_j += dS_ij·q_i
            Reduce.axpy(acc, dkv, j * ks + kvh * d, ds[j], qv, go, d);
          }
          if (dvv != null) { // dV_j += P_ij·dO_i
            Reduce.axpy(acc, dvv, j * ks + kvh * d, pv[row + j], g, go, d);
          }
        }
      }
    }
    Tensor dq = null, dk = null, dv = null;
    if (dqv != null) {
      dq =
          Emit.output(ctx, site, "attention.dq", Phase.BACKWARD, dqFormat, q.shape(), dqv, dOut, k);
    }
    if (dkv != null) {
      dk =
          Emit.output(ctx, site, "attention.dk", Phase.BACKWARD, dkFormat, k.shape(), dkv, dOut, q);
    }
    if (dvv != null) {
      dv =
          Emit.output(
              ctx, site, "attention.dv", Phase.BACKWARD, dvFormat, v.shape(), dvv, dOut, probs);
    }
    return new Grads(dq, dk, dv);
  }

  /** dP_ij for j in [from, Tk): the dense row after all; returns Tk. */
  private static int extendDp(
      Precision gemm,
      FloatFormat acc,
      double[] g,
      float[] gf,
      double[] vv,
      float[] vf,
      int go,
      int kvh,
      int ks,
      int d,
      int row,
      int from,
      int tk,
      double[] dp) {
    for (int j = from; j < tk; j++) {
      dp[j] = gemm.roundOutput(Reduce.dot(acc, g, gf, go, vv, vf, j * ks + kvh * d, d), row + j);
    }
    return tk;
  }

  public static Var apply(
      Tape tape,
      OpContext ctx,
      Site site,
      Precision gemm,
      Precision softmax,
      Var q,
      Var k,
      Var v,
      int heads,
      int kvHeads,
      boolean[] keyMask) {
    boolean[] mask = keyMask == null ? null : keyMask.clone();
    Forward f =
        forward(ctx, site, gemm, softmax, q.value(), k.value(), v.value(), heads, kvHeads, mask);
    return tape.record(
        "attention@" + site,
        f.out(),
        (dOut, needs) -> {
          Grads gr =
              backward(
                  ctx,
                  site,
                  gemm,
                  softmax,
                  dOut,
                  q.value(),
                  k.value(),
                  v.value(),
                  f.probs(),
                  heads,
                  kvHeads,
                  needs[0] ? q.gradFormat() : null,
                  needs[1] ? k.gradFormat() : null,
                  needs[2] ? v.gradFormat() : null);
          return new Tensor[] {gr.dq(), gr.dk(), gr.dv()};
        },
        q,
        k,
        v);
  }
}
