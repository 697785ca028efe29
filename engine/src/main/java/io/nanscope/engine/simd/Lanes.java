package io.nanscope.engine.simd;

import io.nanscope.engine.format.FloatFormat;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API lane primitives of nanscope, each with a scalar twin ({@code ...Scalar}) that
 * defines its result bit for bit: the twins handle tails and are the test oracles.
 *
 * <p><b>One fixed width.</b> Every primitive uses the {@code static final} 256-bit species {@link
 * #F} (8 FP32 lanes) whatever the machine prefers, so the reduction order, and therefore every bit
 * of a result, is the same on AVX2 and AVX-512 machines (on Zen 4 a 512-bit FMA is two 256-bit
 * halves, so nothing is lost). A species held in a variable instead of a constant ran ~35× slower.
 *
 * <p><b>The ordered reduction</b> ({@link #dot}, {@link #sum}, and every GEMM output of {@link
 * Gemm}): for n terms, lane l (0..7) accumulates the terms i ≡ l (mod 8), i &lt; n8 = n − n mod 8, in
 * increasing i (one {@code Math.fma} per term for dot, one add for sum); the 8 lanes are combined as
 * {@code ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7))} ({@link #reduce8Scalar}); the tail terms i ≥ n8
 * are then added one by one in increasing i. Multiplies are fused (fma, one rounding per term).
 */
public final class Lanes {

  /** The FP32 species of every kernel: 256 bits, 8 lanes, fixed for determinism (see above). */
  static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
  /** 8 × 16-bit lanes (128 bits): the raw FP16/BF16 patterns that decode into one {@link #F}. */
  static final VectorSpecies<Short> S = ShortVector.SPECIES_128;
  /** 8 × 32-bit int lanes, for the bit manipulation of the 16-bit decode. */
  static final VectorSpecies<Integer> I = IntVector.SPECIES_256;

  /** Lanes per vector of {@link #F}; the period of the ordered reduction. */
  static final int W = 8;

  private static final VectorShuffle<Float> ROT4 = VectorShuffle.iota(F, 4, 1, true);
  private static final VectorShuffle<Float> ROT2 = VectorShuffle.iota(F, 2, 1, true);
  private static final VectorShuffle<Float> ROT1 = VectorShuffle.iota(F, 1, 1, true);

  private Lanes() {}

  // ---------------------------------------------------------------------------------------------
  // Ordered reduction of 8 lanes

  /** {@code ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7))}: the fixed lane-combining order. */
  static float reduce8(FloatVector v) {
    FloatVector t = v.add(v.rearrange(ROT4)); // t_l = v_l + v_(l+4)
    FloatVector u = t.add(t.rearrange(ROT2)); // u_l = t_l + t_(l+2)
    return u.add(u.rearrange(ROT1)).lane(0); // u_0 + u_1
  }

  /** Scalar twin of {@link #reduce8}: lanes at {@code lane[off..off+8)}. */
  static float reduce8Scalar(float[] lane, int off) {
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
  // exp (for softmax)
  //
  // e^x = 2^k · e^r with k = rint(x·log2 e) and r = x − k·ln 2 (Cody–Waite: ln 2 = LN2_HI + LN2_LO,
  // LN2_HI with 16 significant bits), |r| ≤ ln2/2 ≈ 0.347. e^r is the degree-7 Taylor polynomial in
  // Horner form with fma; its truncation error r^8/8! ≤ 5.2e-9 is 0.04 ulp of e^r ≥ 0.7, so the error
  // is the Horner rounding: measured at most 0.92 ulp from Math.exp over every 7th float in
  // [−104, 89] (320 M inputs, subnormal results included); LanesTest holds it to 1 ulp. 2^k is
  // applied as 2^(k>>1) · 2^(k − k>>1) so that both factors are normal for k in [−150, 128] and the
  // product rounds once (gradual underflow into subnormals, overflow to +inf). x is clamped to
  // [−104, 89] first: e^−104 rounds to 0 and e^89 to +inf; NaN stays NaN.

  private static final float LOG2E = 1.4426950408889634f;
  private static final float LN2_HI = 0.693145751953125f; // 0x3f317200
  private static final float LN2_LO = 1.42860676533018e-06f;
  private static final float ROUND_MAGIC = 0x1.8p23f; // x + 1.5·2^23 − 1.5·2^23 = rint(x), |x| < 2^22
  private static final float EXP_LO = -104f;
  private static final float EXP_HI = 89f;
  private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120;
  private static final float C6 = 1f / 720, C7 = 1f / 5040;

  /** {@code y[yo+i] = e^x[xo+i]} (&lt; 1 ulp from Math.exp; bit-identical to {@link #expScalar}). */
  public static void exp(float[] x, int xo, float[] y, int yo, int n) {
    int n8 = n - n % W;
    for (int i = 0; i < n8; i += W) {
      exp(FloatVector.fromArray(F, x, xo + i)).intoArray(y, yo + i);
    }
    for (int i = n8; i < n; i++) {
      y[yo + i] = expScalar(x[xo + i]);
    }
  }

  static FloatVector exp(FloatVector x) {
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
  // 16-bit decode (exact: every FP16 and BF16 value is an FP32 value)
  //
  // BF16: the FP32 pattern is bits << 16, done in registers. FP16: a plain loop over the
  // Float.float16ToFloat intrinsic, which C2 auto-vectorises (vcvtph2ps): 12.6 G elements/s here
  // from a heap segment, 5.8 from native memory, against 5.6 for a Vector API bit-manipulation
  // decode (float(em << 13) · 2^112 plus an inf/NaN select), which was therefore dropped.
  // Both are checked on all 65,536 patterns.

  /** 8 BF16 patterns at element {@code index} of a 16-bit segment, decoded to FP32 in registers. */
  static FloatVector decodeBf16(MemorySegment seg, long index) {
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
  static FloatVector decodeFp16Finite(MemorySegment seg, long index) {
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
      FloatFormat format, MemorySegment seg, long index, float[] dst, int off, int n) {
    requireBits16(format);
    if (format == FloatFormat.FP16) {
      for (int i = 0; i < n; i++) {
        dst[off + i] = Float.float16ToFloat(seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index + i));
      }
      return;
    }
    int n8 = n - n % W;
    for (int i = 0; i < n8; i += W) {
      decodeBf16(seg, index + i).intoArray(dst, off + i);
    }
    decode16Scalar(format, seg, index + n8, dst, off + n8, n - n8);
  }

  /** Scalar twin of {@link #decode16(FloatFormat, MemorySegment, long, float[], int, int)}. */
  public static void decode16Scalar(
      FloatFormat format, MemorySegment seg, long index, float[] dst, int off, int n) {
    requireBits16(format);
    for (int i = 0; i < n; i++) {
      dst[off + i] = format.decode16(seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, index + i));
    }
  }

  static void requireBits16(FloatFormat format) {
    if (format != FloatFormat.FP16 && format != FloatFormat.BF16) {
      throw new IllegalArgumentException(
          "16-bit decode needs FP16 or BF16 storage, got " + format.name());
    }
  }
}
