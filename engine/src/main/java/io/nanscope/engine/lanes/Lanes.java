package io.nanscope.engine.lanes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API lane primitives of nanscope, each with a scalar twin ({@code ...Scalar}) that
 * defines its result bit for bit: the twins handle tails and are the test oracles.
 *
 * <p><b>One fixed order.</b> Every primitive here uses the {@code static final} 256-bit species
 * {@link #F} (8 FP32 lanes) whatever the machine prefers, so the reduction order, and therefore
 * every bit of a result, is the same on AVX2 and AVX-512 machines. The GEMM's 512-bit kernel (in
 * engine.simd, LaneSplitGemm) keeps this order by giving each of an output's 8 lanes its own
 * accumulator (16 outputs per register) and combining them at the end in this order. A species held
 * in a variable instead of a constant ran ~35× slower.
 *
 * <p><b>The ordered reduction</b> ({@link #dot}, {@link #sum}, and every GEMM output of
 * engine.simd's GemmKernel): for n terms, lane l (0..7) accumulates the terms i ≡ l (mod 8), i &lt;
 * n8 = n − n mod 8, in increasing i (one {@code Math.fma} per term for dot, one add for sum); the 8
 * lanes are combined as {@code ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))} ({@link #reduce8Scalar}); the
 * tail terms i ≥ n8 are then added one by one in increasing i. Multiplies are fused (fma, one
 * rounding per term).
 */
public final class Lanes {

  /** The FP32 species of every kernel: 256 bits, 8 lanes, fixed for determinism (see above). */
  public static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

  /** 8 × 16-bit lanes (128 bits): the raw FP16/BF16 patterns that decode into one {@link #F}. */
  public static final VectorSpecies<Short> S = ShortVector.SPECIES_128;

  /** 8 × 32-bit int lanes, for the bit manipulation of the 16-bit decode. */
  public static final VectorSpecies<Integer> I = IntVector.SPECIES_256;

  /** Lanes per vector of {@link #F}; the period of the ordered reduction. */
  public static final int W = 8;

  private static final VectorShuffle<Float> ROT4 = VectorShuffle.iota(F, 4, 1, true);
  private static final VectorShuffle<Float> ROT2 = VectorShuffle.iota(F, 2, 1, true);
  private static final VectorShuffle<Float> ROT1 = VectorShuffle.iota(F, 1, 1, true);

  private Lanes() {}

  // ---------------------------------------------------------------------------------------------
  // Ordered reduction of 8 lanes

  /** {@code ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7))}: the fixed lane-combining order. */
  public static float reduce8(FloatVector v) {
    FloatVector t = v.add(v.rearrange(ROT4)); // t_l = v_l + v_(l+4)
    FloatVector u = t.add(t.rearrange(ROT2)); // u_l = t_l + t_(l+2)
    return u.add(u.rearrange(ROT1)).lane(0); // u_0 + u_1
  }

  private static final int[] STRIDE8 = {0, 8, 16, 24, 32, 40, 48, 56};

  /**
   * {@link #reduce8} of 8 accumulators at once: lane o of the result is the lane combine of the 8
   * lanes {@code acc[off + 8o .. off + 8o + 8)} (the same adds in the same order, lanewise: 7
   * vector adds and 8 gathers instead of 8 × 3 shuffles, adds and a lane extract), written to
   * {@code out[outOff .. outOff + 8)} (a returned vector would be boxed where C2 does not inline).
   */
  public static void reduce8x8(float[] acc, int off, float[] out, int outOff) {
    FloatVector t0 = FloatVector.fromArray(F, acc, off, STRIDE8, 0);
    FloatVector t1 = FloatVector.fromArray(F, acc, off + 1, STRIDE8, 0);
    FloatVector t2 = FloatVector.fromArray(F, acc, off + 2, STRIDE8, 0);
    FloatVector t3 = FloatVector.fromArray(F, acc, off + 3, STRIDE8, 0);
    FloatVector t4 = FloatVector.fromArray(F, acc, off + 4, STRIDE8, 0);
    FloatVector t5 = FloatVector.fromArray(F, acc, off + 5, STRIDE8, 0);
    FloatVector t6 = FloatVector.fromArray(F, acc, off + 6, STRIDE8, 0);
    FloatVector t7 = FloatVector.fromArray(F, acc, off + 7, STRIDE8, 0);
    t0.add(t4).add(t2.add(t6)).add(t1.add(t5).add(t3.add(t7))).intoArray(out, outOff);
  }

  /** Scalar twin of {@link #reduce8}: lanes at {@code lane[off..off+8)}. */
  public static float reduce8Scalar(float[] lane, int off) {
    float t0 = lane[off] + lane[off + 4];
    float t1 = lane[off + 1] + lane[off + 5];
    float t2 = lane[off + 2] + lane[off + 6];
    float t3 = lane[off + 3] + lane[off + 7];
    return (t0 + t2) + (t1 + t3);
  }

  // ---------------------------------------------------------------------------------------------
  // dot

  /** {@code Σ a[ao+i]·b[bo+i]}, i in [0, n), in the ordered-reduction order (class javadoc). */
  public static float dot(float[] a, int ao, float[] b, int bo, int n) {
    int n8 = n - n % W;
    FloatVector acc = FloatVector.zero(F);
    for (int i = 0; i < n8; i += W) {
      acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
    }
    float s = reduce8(acc);
    for (int i = n8; i < n; i++) {
      s = Math.fma(a[ao + i], b[bo + i], s);
    }
    return s;
  }

  /** Scalar twin of {@link #dot}: same terms, same order, same roundings. */
  public static float dotScalar(float[] a, int ao, float[] b, int bo, int n) {
    int n8 = n - n % W;
    float[] lane = new float[W];
    for (int i = 0; i < n8; i += W) {
      for (int l = 0; l < W; l++) {
        lane[l] = Math.fma(a[ao + i + l], b[bo + i + l], lane[l]);
      }
    }
    float s = reduce8Scalar(lane, 0);
    for (int i = n8; i < n; i++) {
      s = Math.fma(a[ao + i], b[bo + i], s);
    }
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // The sequential order of the GEMM family

  /**
   * {@code Σ a[ao+i]·b[bo+i]} as one fma chain in increasing i from +0: {@code s = +0; s =
   * fma(a[ao+i], b[bo+i], s)} for i = 0 … n − 1. The definition of every output of the GEMM family
   * (engine.simd's matmulNT/NN/TN and the decode matvecs), which vectorise it across outputs (8 or
   * 16 outputs per register, one chain each), never across k, so the bits do not depend on the
   * vector width. Error bound |s − exact| ≤ γ(n)·Σ|a_i·b_i|, γ(n) = n·u/(1 − n·u), u = 2^−24.
   */
  public static float dotSequential(float[] a, int ao, float[] b, int bo, int n) {
    float s = 0f;
    for (int i = 0; i < n; i++) {
      s = Math.fma(a[ao + i], b[bo + i], s);
    }
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // sum

  /** {@code Σ a[off+i]}, i in [0, n), in the ordered-reduction order. */
  public static float sum(float[] a, int off, int n) {
    int n8 = n - n % W;
    FloatVector acc = FloatVector.zero(F);
    for (int i = 0; i < n8; i += W) {
      acc = acc.add(FloatVector.fromArray(F, a, off + i));
    }
    float s = reduce8(acc);
    for (int i = n8; i < n; i++) {
      s += a[off + i];
    }
    return s;
  }

  /** Scalar twin of {@link #sum}. */
  public static float sumScalar(float[] a, int off, int n) {
    int n8 = n - n % W;
    float[] lane = new float[W];
    for (int i = 0; i < n8; i += W) {
      for (int l = 0; l < W; l++) {
        lane[l] += a[off + i + l];
      }
    }
    float s = reduce8Scalar(lane, 0);
    for (int i = n8; i < n; i++) {
      s += a[off + i];
    }
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // max

  /**
   * {@code max a[off+i]} with {@link Math#max} semantics (NaN wins, +0 &gt; −0), so the result does
   * not depend on the order; −∞ for n = 0.
   */
  public static float max(float[] a, int off, int n) {
    int n8 = n - n % W;
    FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
    for (int i = 0; i < n8; i += W) {
      acc = acc.max(FloatVector.fromArray(F, a, off + i));
    }
    float m = acc.reduceLanes(VectorOperators.MAX);
    for (int i = n8; i < n; i++) {
      m = Math.max(m, a[off + i]);
    }
    return m;
  }

  /** Scalar twin of {@link #max}. */
  public static float maxScalar(float[] a, int off, int n) {
    float m = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      m = Math.max(m, a[off + i]);
    }
    return m;
  }

  // ---------------------------------------------------------------------------------------------
  // axpy

  /** {@code y[yo+i] = fma(alpha, x[xo+i], y[yo+i])}: one rounding per element. */
  public static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
    int n8 = n - n % W;
    FloatVector va = FloatVector.broadcast(F, alpha);
    for (int i = 0; i < n8; i += W) {
      va.fma(FloatVector.fromArray(F, x, xo + i), FloatVector.fromArray(F, y, yo + i))
          .intoArray(y, yo + i);
    }
    axpyScalar(alpha, x, xo + n8, y, yo + n8, n - n8);
  }

  /** Scalar twin of {@link #axpy}. */
  public static void axpyScalar(float alpha, float[] x, int xo, float[] y, int yo, int n) {
    for (int i = 0; i < n; i++) {
      y[yo + i] = Math.fma(alpha, x[xo + i], y[yo + i]);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Short rows: many ordered dots against the columns of a row-major matrix, and P·V rows
  //
  // A dot of k = 8 or 64 terms costs less than its lane reduction (two rearranges and a lane
  // extract, boxed when C2 does not inline the call). dotColumns puts 8 OUTPUTS in the lanes
  // instead: accumulator a_l (l = p mod 8) holds lane l of the ordered reduction of 8 columns at
  // once, so the lane combine is 7 lanewise adds and no horizontal step is left.

  /**
   * {@code y[yo+j] = Σ_p x[xo+p]·W[p, j]}, j in [0, n), p in [0, k), where W is read in panels of 8
   * columns: {@code W[p, j] = w[wo + (j/8)·panel + p·ld + j%8]} (a row-major (k, N) matrix is ld =
   * N, panel = 8; 8-column panels stored one after the other are ld = 8, panel = 8k). Each output
   * is the ordered dot (class javadoc) of x with column j, so it equals {@link #dot} of x and that
   * column bit for bit. Two panels per pass share the broadcasts of x. A last partial panel runs as
   * a full vector (extra lanes discarded, only y[yo, yo+n) written) when {@code w} holds all 8 of
   * its columns, else through the scalar twin: pad panels to 8 columns to keep it vector.
   */
  public static void dotColumns(
      float[] x, int xo, float[] w, int wo, int ld, int panel, int k, float[] y, int yo, int n) {
    int n8 = n - n % W, k8 = k - k % W;
    int nv = n8 < n && wo + (long) (n8 / W) * panel + (k - 1L) * ld + W <= w.length ? n8 + W : n8;
    int j = 0;
    for (; j + 2 * W <= nv; j += 2 * W) {
      int r = wo + (j / W) * panel, q = r + panel;
      FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
      FloatVector a7 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0;
      for (int p = 0; p < k8; p += W, r += W * ld, q += W * ld) {
        FloatVector x0 = bx(x, xo + p), x1 = bx(x, xo + p + 1), x2 = bx(x, xo + p + 2);
        FloatVector x3 = bx(x, xo + p + 3);
        a0 = x0.fma(FloatVector.fromArray(F, w, r), a0);
        b0 = x0.fma(FloatVector.fromArray(F, w, q), b0);
        a1 = x1.fma(FloatVector.fromArray(F, w, r + ld), a1);
        b1 = x1.fma(FloatVector.fromArray(F, w, q + ld), b1);
        a2 = x2.fma(FloatVector.fromArray(F, w, r + 2 * ld), a2);
        b2 = x2.fma(FloatVector.fromArray(F, w, q + 2 * ld), b2);
        a3 = x3.fma(FloatVector.fromArray(F, w, r + 3 * ld), a3);
        b3 = x3.fma(FloatVector.fromArray(F, w, q + 3 * ld), b3);
        FloatVector x4 = bx(x, xo + p + 4), x5 = bx(x, xo + p + 5), x6 = bx(x, xo + p + 6);
        FloatVector x7 = bx(x, xo + p + 7);
        a4 = x4.fma(FloatVector.fromArray(F, w, r + 4 * ld), a4);
        b4 = x4.fma(FloatVector.fromArray(F, w, q + 4 * ld), b4);
        a5 = x5.fma(FloatVector.fromArray(F, w, r + 5 * ld), a5);
        b5 = x5.fma(FloatVector.fromArray(F, w, q + 5 * ld), b5);
        a6 = x6.fma(FloatVector.fromArray(F, w, r + 6 * ld), a6);
        b6 = x6.fma(FloatVector.fromArray(F, w, q + 6 * ld), b6);
        a7 = x7.fma(FloatVector.fromArray(F, w, r + 7 * ld), a7);
        b7 = x7.fma(FloatVector.fromArray(F, w, q + 7 * ld), b7);
      }
      FloatVector sa = a0.add(a4).add(a2.add(a6)).add(a1.add(a5).add(a3.add(a7)));
      FloatVector sb = b0.add(b4).add(b2.add(b6)).add(b1.add(b5).add(b3.add(b7)));
      for (int p = k8; p < k; p++, r += ld, q += ld) {
        FloatVector xp = bx(x, xo + p);
        sa = xp.fma(FloatVector.fromArray(F, w, r), sa);
        sb = xp.fma(FloatVector.fromArray(F, w, q), sb);
      }
      sa.intoArray(y, yo + j);
      if (j + 2 * W <= n) {
        sb.intoArray(y, yo + j + W);
      } else {
        sb.intoArray(y, yo + j + W, F.indexInRange(j + W, n));
      }
    }
    for (; j < nv; j += W) {
      FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0;
      FloatVector a7 = a0;
      int r = wo + (j / W) * panel;
      for (int p = 0; p < k8; p += W, r += W * ld) {
        a0 = bx(x, xo + p).fma(FloatVector.fromArray(F, w, r), a0);
        a1 = bx(x, xo + p + 1).fma(FloatVector.fromArray(F, w, r + ld), a1);
        a2 = bx(x, xo + p + 2).fma(FloatVector.fromArray(F, w, r + 2 * ld), a2);
        a3 = bx(x, xo + p + 3).fma(FloatVector.fromArray(F, w, r + 3 * ld), a3);
        a4 = bx(x, xo + p + 4).fma(FloatVector.fromArray(F, w, r + 4 * ld), a4);
        a5 = bx(x, xo + p + 5).fma(FloatVector.fromArray(F, w, r + 5 * ld), a5);
        a6 = bx(x, xo + p + 6).fma(FloatVector.fromArray(F, w, r + 6 * ld), a6);
        a7 = bx(x, xo + p + 7).fma(FloatVector.fromArray(F, w, r + 7 * ld), a7);
      }
      FloatVector s = a0.add(a4).add(a2.add(a6)).add(a1.add(a5).add(a3.add(a7)));
      for (int p = k8; p < k; p++, r += ld) {
        s = bx(x, xo + p).fma(FloatVector.fromArray(F, w, r), s);
      }
      if (j + W <= n) {
        s.intoArray(y, yo + j);
      } else {
        s.intoArray(y, yo + j, F.indexInRange(j, n));
      }
    }
    if (nv < n) {
      dotColumnsScalar(x, xo, w, wo, ld, panel, k, y, yo, n8, n);
    }
  }

  private static FloatVector bx(float[] x, int i) {
    return FloatVector.broadcast(F, x[i]);
  }

  /** Scalar twin of {@link #dotColumns}: one {@link #dotScalar} order per column j in [0, n). */
  public static void dotColumnsScalar(
      float[] x, int xo, float[] w, int wo, int ld, int panel, int k, float[] y, int yo, int n) {
    dotColumnsScalar(x, xo, w, wo, ld, panel, k, y, yo, 0, n);
  }

  private static void dotColumnsScalar(
      float[] x,
      int xo,
      float[] w,
      int wo,
      int ld,
      int panel,
      int k,
      float[] y,
      int yo,
      int j0,
      int n) {
    int k8 = k - k % W;
    float[] lane = new float[W];
    for (int j = j0; j < n; j++) {
      int c = wo + (j / W) * panel + j % W;
      java.util.Arrays.fill(lane, 0f);
      for (int p = 0; p < k8; p++) {
        lane[p % W] = Math.fma(x[xo + p], w[c + p * ld], lane[p % W]);
      }
      float s = reduce8Scalar(lane, 0);
      for (int p = k8; p < k; p++) {
        s = Math.fma(x[xo + p], w[c + p * ld], s);
      }
      y[yo + j] = s;
    }
  }

  /**
   * {@code y[yo+i] = Σ_t p[po+t]·v[vo + t·ld + i]}, i in [0, d), t in [0, n): each sum from +0
   * sequential in increasing t, the product rounded and then added (no fma), the attention op's P·V
   * order; 8 outputs per vector.
   */
  public static void weightedRows(
      float[] p, int po, float[] v, int vo, int ld, int n, float[] y, int yo, int d) {
    int d8 = d - d % W;
    for (int i = 0; i < d8; i += W) {
      FloatVector s = FloatVector.zero(F);
      for (int t = 0, r = vo + i; t < n; t++, r += ld) {
        s = s.add(bx(p, po + t).mul(FloatVector.fromArray(F, v, r)));
      }
      s.intoArray(y, yo + i);
    }
    weightedRowsScalar(p, po, v, vo + d8, ld, n, y, yo + d8, d - d8);
  }

  /** Scalar twin of {@link #weightedRows}. */
  public static void weightedRowsScalar(
      float[] p, int po, float[] v, int vo, int ld, int n, float[] y, int yo, int d) {
    for (int i = 0; i < d; i++) {
      float s = 0f;
      for (int t = 0; t < n; t++) {
        s += p[po + t] * v[vo + t * ld + i];
      }
      y[yo + i] = s;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // exp (for softmax)
  //
  // e^x = 2^k · e^r with k = rint(x·log2 e) and r = x − k·ln 2 (Cody–Waite: ln 2 = LN2_HI + LN2_LO,
  // LN2_HI with 16 significant bits), |r| ≤ ln2/2 ≈ 0.347. e^r is the degree-7 Taylor polynomial in
  // Horner form with fma; its truncation error r^8/8! ≤ 5.2e-9 is 0.04 ulp of e^r ≥ 0.7, so the
  // error
  // is the Horner rounding: measured at most 0.92 ulp from Math.exp over every 7th float in
  // [−104, 89] (320 M inputs, subnormal results included); LanesTest holds it to 1 ulp. 2^k is
  // applied as 2^(k>>1) · 2^(k − k>>1) so that both factors are normal for k in [−150, 128] and the
  // product rounds once (gradual underflow into subnormals, overflow to +inf). x is clamped to
  // [−104, 89] first: e^−104 rounds to 0 and e^89 to +inf; NaN stays NaN.

  private static final float LOG2E = 1.4426950408889634f;
  private static final float LN2_HI = 0.693145751953125f; // 0x3f317200
  private static final float LN2_LO = 1.42860676533018e-06f;
  private static final float ROUND_MAGIC =
      0x1.8p23f; // x + 1.5·2^23 − 1.5·2^23 = rint(x), |x| < 2^22
  private static final float EXP_LO = -104f;
  private static final float EXP_HI = 89f;
  private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120;
  private static final float C6 = 1f / 720, C7 = 1f / 5040;

  /**
   * {@code y[yo+i] = e^x[xo+i]} (&lt; 1 ulp from Math.exp; bit-identical to {@link #expScalar}).
   */
  public static void exp(float[] x, int xo, float[] y, int yo, int n) {
    int n8 = n - n % W;
    for (int i = 0; i < n8; i += W) {
      exp(FloatVector.fromArray(F, x, xo + i)).intoArray(y, yo + i);
    }
    for (int i = n8; i < n; i++) {
      y[yo + i] = expScalar(x[xo + i]);
    }
  }

  public static FloatVector exp(FloatVector x) {
    FloatVector xc = x.max(EXP_LO).min(EXP_HI);
    FloatVector kf = xc.mul(LOG2E).add(ROUND_MAGIC).sub(ROUND_MAGIC);
    FloatVector r = kf.fma(FloatVector.broadcast(F, -LN2_HI), xc);
    r = kf.fma(FloatVector.broadcast(F, -LN2_LO), r);
    FloatVector p = r.fma(C7, C6);
    p = p.fma(r, FloatVector.broadcast(F, C5));
    p = p.fma(r, FloatVector.broadcast(F, C4));
    p = p.fma(r, FloatVector.broadcast(F, C3));
    p = p.fma(r, FloatVector.broadcast(F, C2));
    p = p.fma(r, FloatVector.broadcast(F, 1f));
    p = p.fma(r, FloatVector.broadcast(F, 1f));
    IntVector k = (IntVector) kf.convert(VectorOperators.F2I, 0);
    IntVector k1 = k.lanewise(VectorOperators.ASHR, 1);
    IntVector k2 = k.sub(k1);
    FloatVector s1 = k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    FloatVector s2 = k2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    return p.mul(s1).mul(s2);
  }

  /** Scalar twin of the vector exp: the same operations in the same order. */
  public static float expScalar(float x) {
    float xc = Math.min(Math.max(x, EXP_LO), EXP_HI);
    float kf = xc * LOG2E + ROUND_MAGIC - ROUND_MAGIC;
    float r = Math.fma(kf, -LN2_HI, xc);
    r = Math.fma(kf, -LN2_LO, r);
    float p = Math.fma(r, C7, C6);
    p = Math.fma(p, r, C5);
    p = Math.fma(p, r, C4);
    p = Math.fma(p, r, C3);
    p = Math.fma(p, r, C2);
    p = Math.fma(p, r, 1f);
    p = Math.fma(p, r, 1f);
    int k = (int) kf;
    int k1 = k >> 1;
    int k2 = k - k1;
    return p * Float.intBitsToFloat((k1 + 127) << 23) * Float.intBitsToFloat((k2 + 127) << 23);
  }

  // ---------------------------------------------------------------------------------------------
  // mathExp: (float) Math.exp(x) for float x, bit for bit, 4 lanes in double
  //
  // The FP32 softmax and SiLU of the ops round Math.exp to float; the decode step must give their
  // bits. In double: k = rint(x·log2 e) (the magic-number add), r = fma(k, −LN2_HI, x) − k·LN2_LO,
  // |r| ≤ 0.35; e^r by its degree-13 Taylor polynomial (truncation r^14/14! < 2^-57) in
  // Horner form with fma; times 2^k, exact. Measured within 1 ulp (of double) of Math.exp over
  // every 307th float with |x| ≤ 87 (ShortRowKernelsTest), and Math.exp is within 1 ulp of e^x
  // (its spec), so both lie within a few ulps of e^x. Rounding our double to float gives (float)
  // Math.exp(x) unless a float rounding boundary (a value with 25 significant bits) lies within
  // those few ulps: the 29 bits below the float's last bit would then be near 2^28. A lane within
  // MATH_EXP_MARGIN = 2^10 ulps of that, or whose x is outside [−87, 88] (subnormal or infinite
  // float results) or NaN, takes Math.exp itself (~4·10^-6 of inputs): Math.exp's bits on every
  // input.

  private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
  private static final VectorSpecies<Double> D4 = DoubleVector.SPECIES_256;
  private static final double LOG2E_D = 1.4426950408889634;
  private static final double LN2_HI_D = 0x1.62e42fefa3800p-1; // ln 2 to 43 bits: k·LN2_HI exact
  private static final double LN2_LO_D = 0x1.ef35793c76730p-45; // ln 2 − LN2_HI
  private static final double MAGIC_D = 0x1.8p52; // x + 1.5·2^52 has rint(x) in its low bits
  private static final long MAGIC_BITS = Double.doubleToRawLongBits(MAGIC_D);
  private static final long MATH_EXP_MARGIN = 1 << 10;
  private static final double[] TAYLOR = new double[14]; // 1/i!

  static {
    double f = 1;
    for (int i = 0; i < TAYLOR.length; i++) {
      f = i == 0 ? 1 : f * i;
      TAYLOR[i] = 1 / f;
    }
  }

  /** {@code y[yo+i] = (float) Math.exp(x[xo+i])}, bit for bit (see the comment above). */
  public static void mathExp(float[] x, int xo, float[] y, int yo, int n) {
    int n4 = n - n % 4;
    for (int i = 0; i < n4; i += 4) {
      DoubleVector xd =
          (DoubleVector)
              FloatVector.fromArray(F4, x, xo + i).convertShape(VectorOperators.F2D, D4, 0);
      DoubleVector t = xd.fma(LOG2E_D, MAGIC_D);
      DoubleVector kd = t.sub(MAGIC_D);
      DoubleVector r = kd.fma(DoubleVector.broadcast(D4, -LN2_HI_D), xd).add(kd.mul(-LN2_LO_D));
      DoubleVector p = DoubleVector.broadcast(D4, TAYLOR[13]);
      for (int c = 12; c >= 0; c--) {
        p = p.fma(r, DoubleVector.broadcast(D4, TAYLOR[c]));
      }
      LongVector scale =
          t.reinterpretAsLongs().sub(MAGIC_BITS - 1023).lanewise(VectorOperators.LSHL, 52);
      DoubleVector e = p.mul(scale.reinterpretAsDoubles());
      LongVector low = e.reinterpretAsLongs().and(0x1FFFFFFFL).sub(1L << 28);
      boolean safe =
          xd.compare(VectorOperators.GE, -87.0).and(xd.compare(VectorOperators.LE, 88.0)).allTrue()
              && !low.lanewise(VectorOperators.ABS)
                  .compare(VectorOperators.LT, MATH_EXP_MARGIN)
                  .anyTrue();
      if (safe) {
        ((FloatVector) e.convertShape(VectorOperators.D2F, F4, 0)).intoArray(y, yo + i);
      } else {
        mathExpScalar(x, xo + i, y, yo + i, 4);
      }
    }
    mathExpScalar(x, xo + n4, y, yo + n4, n - n4);
  }

  /** Scalar twin (and definition) of {@link #mathExp}. */
  public static void mathExpScalar(float[] x, int xo, float[] y, int yo, int n) {
    for (int i = 0; i < n; i++) {
      y[yo + i] = (float) Math.exp(x[xo + i]);
    }
  }

  /** The double approximation of e^x that {@link #mathExp} rounds, in scalar (for its tests). */
  public static double mathExpApprox(float x) {
    double t = Math.fma(x, LOG2E_D, MAGIC_D);
    double kd = t - MAGIC_D;
    double r = Math.fma(kd, -LN2_HI_D, x) + kd * -LN2_LO_D;
    double p = TAYLOR[13];
    for (int c = 12; c >= 0; c--) {
      p = Math.fma(p, r, TAYLOR[c]);
    }
    return p * Double.longBitsToDouble((Double.doubleToRawLongBits(t) - (MAGIC_BITS - 1023)) << 52);
  }

  // ---------------------------------------------------------------------------------------------
  // 16-bit decode (exact: every FP16 and BF16 value is an FP32 value)
  //
  // BF16: the FP32 pattern is bits << 16, done in registers. FP16 into an array: a plain loop over
  // the Float.float16ToFloat intrinsic, which C2 auto-vectorises (vcvtph2ps): 12.6 G elements/s
  // here
  // from a heap segment, 5.8 from native memory, against 5.6 for a Vector API bit-manipulation
  // decode with an inf/NaN select. FP16 inside the matvec's fma loop: decodeFp16Finite below, in
  // registers without a select (inf/NaN rows are recomputed by the caller). All are checked on all
  // 65,536 patterns.

  /** 8 BF16 patterns at element {@code index} of a 16-bit segment, decoded to FP32 in registers. */
  public static FloatVector decodeBf16(MemorySegment seg, long index) {
    ShortVector s = ShortVector.fromMemorySegment(S, seg, index * 2, ByteOrder.LITTLE_ENDIAN);
    IntVector bits = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
    return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
  }

  /**
   * 8 FP16 patterns at element {@code index} of a 16-bit segment, decoded to FP32 in registers for
   * the matvec: exact ({@link Float#float16ToFloat}, bit for bit) for every finite pattern, and ±∞
   * for every pattern with the exponent all ones (inf and NaN), so that a row holding one gives a
   * non-finite dot and the caller recomputes it exactly (the decode has no room for a lane select:
   * four inlined copies must stay under C2's inlining node budget).
   *
   * <p>The shorts are sign-extended to ints; {@code (h << 13) & 0x8fff_e000} keeps the sign in bit
   * 31 and the 15 magnitude bits in 27..13: an FP32 pattern whose value times 2^112 is the FP16
   * value, normals and subnormals alike (an FP32 subnormal scaled into the normal range). Times
   * 2^112 once more overflows to ±∞ exactly when the value is ≥ 2^16 (exponent all ones: the
   * largest finite FP16 is 65504), and the final 2^−112 is exact for every finite value.
   */
  public static FloatVector decodeFp16Finite(MemorySegment seg, long index) {
    ShortVector s = ShortVector.fromMemorySegment(S, seg, index * 2, ByteOrder.LITTLE_ENDIAN);
    IntVector h = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
    return h.lanewise(VectorOperators.LSHL, 13)
        .and(0x8fff_e000)
        .reinterpretAsFloats()
        .mul(0x1p112f)
        .mul(0x1p112f)
        .mul(0x1p-112f);
  }

  /**
   * Decodes {@code n} 16-bit patterns of {@code format} (FP16 or BF16) from element {@code index}
   * of {@code seg} into {@code dst[off..off+n)}.
   */
  public static void decode16(
      BinaryLayout format, MemorySegment seg, long index, float[] dst, int off, int n) {
    if (isFp16(format)) {
      for (int i = 0; i < n; i++) {
        dst[off + i] =
            Float.float16ToFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index + i));
      }
      return;
    }
    int n8 = n - n % W;
    for (int i = 0; i < n8; i += W) {
      decodeBf16(seg, index + i).intoArray(dst, off + i);
    }
    decode16Scalar(format, seg, index + n8, dst, off + n8, n - n8);
  }

  /**
   * Scalar twin of {@link #decode16(BinaryLayout, MemorySegment, long, float[], int, int)}: {@link
   * Float#float16ToFloat} for FP16, {@link RoundingKernels#bf16Decode(short)} for BF16 (the decodes
   * FloatFormat uses).
   */
  public static void decode16Scalar(
      BinaryLayout format, MemorySegment seg, long index, float[] dst, int off, int n) {
    boolean fp16 = isFp16(format);
    for (int i = 0; i < n; i++) {
      short bits = seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index + i);
      dst[off + i] = fp16 ? Float.float16ToFloat(bits) : RoundingKernels.bf16Decode(bits);
    }
  }

  /** True for FP16, false for BF16; anything else is refused. */
  private static boolean isFp16(BinaryLayout format) {
    if (Binary16.FP16.matches(format)) {
      return true;
    }
    if (Binary16.BF16.matches(format)) {
      return false;
    }
    throw new IllegalArgumentException(
        "16-bit decode needs FP16 or BF16 storage, got " + format.name());
  }
}
