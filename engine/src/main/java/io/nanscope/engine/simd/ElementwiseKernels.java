package io.nanscope.engine.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise FP32 kernels of the ops (product, sum, difference, scaling, quotient, SiLU), each
 * the vector form of a scalar twin ({@code ...Scalar}) that defines its result bit for bit and
 * handles the tail.
 *
 * <p>Every lane computes one IEEE binary32 operation (or, for SiLU, a fixed chain of them) on its
 * own element, rounded to nearest-even, with no fused multiply-add: the Vector API's {@code mul},
 * {@code add}, {@code sub}, {@code div} are exactly Java's float {@code *}, {@code +}, {@code −},
 * {@code /} per lane (JLS 15.17, 15.18; JEP 306 made float arithmetic strict on every JDK from 17),
 * so the result does not depend on the lane count and the twin is a plain loop. NaN, ±inf, ±0 and
 * subnormals follow IEEE 754 in both forms.
 *
 * <p>Why FP32 arithmetic suffices for the ops: an op whose compute format is FP32 used to form each
 * {@code a ∘ b} (∘ one of + − × ÷) of two floats in double and round the double to FP32. For × the
 * double product of two floats is exact (48 ≤ 53 bits); for + − ÷ the double result is correctly
 * rounded and 53 ≥ 2·24 + 2, so rounding it again to FP32 gives the correctly rounded FP32 result
 * (double rounding is innocuous: Figueroa, "When is double rounding innocuous?", SIGNUM 1995). The
 * FP32 operation is correctly rounded by definition, so both give the same bits.
 *
 * <p>Offsets and counts are in elements; {@code y} may alias an input at the same offset.
 */
public final class ElementwiseKernels {

  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

  /** 8 lanes, for rows as short as one attention head. */
  private static final VectorSpecies<Float> H = FloatVector.SPECIES_256;

  private ElementwiseKernels() {}

  // ---------------------------------------------------------------- y = a · b

  /** {@code y[yo+i] = a[ao+i] · b[bo+i]} for i in [0, n). */
  public static void mul(float[] a, int ao, float[] b, int bo, float[] y, int yo, int n) {
    int i = 0;
    for (int bound = F.loopBound(n); i < bound; i += F.length()) {
      FloatVector.fromArray(F, a, ao + i)
          .mul(FloatVector.fromArray(F, b, bo + i))
          .intoArray(y, yo + i);
    }
    mulScalar(a, ao + i, b, bo + i, y, yo + i, n - i);
  }

  /** Scalar twin of {@link #mul}. */
  public static void mulScalar(float[] a, int ao, float[] b, int bo, float[] y, int yo, int n) {
    for (int i = 0; i < n; i++) {
      y[yo + i] = a[ao + i] * b[bo + i];
    }
  }

  // ---------------------------------------------------------------- y = a + b

  /** {@code y[yo+i] = a[ao+i] + b[bo+i]} for i in [0, n). */
  public static void add(float[] a, int ao, float[] b, int bo, float[] y, int yo, int n) {
    int i = 0;
    for (int bound = F.loopBound(n); i < bound; i += F.length()) {
      FloatVector.fromArray(F, a, ao + i)
          .add(FloatVector.fromArray(F, b, bo + i))
          .intoArray(y, yo + i);
    }
    addScalar(a, ao + i, b, bo + i, y, yo + i, n - i);
  }

  /** Scalar twin of {@link #add}. */
  public static void addScalar(float[] a, int ao, float[] b, int bo, float[] y, int yo, int n) {
    for (int i = 0; i < n; i++) {
      y[yo + i] = a[ao + i] + b[bo + i];
    }
  }

  // ---------------------------------------------------------------- y = s · x

  /** {@code y[yo+i] = s · x[xo+i]} for i in [0, n) (s first, as the ops write it). */
  public static void scale(float s, float[] x, int xo, float[] y, int yo, int n) {
    int i = 0;
    FloatVector sv = FloatVector.broadcast(F, s);
    for (int bound = F.loopBound(n); i < bound; i += F.length()) {
      sv.mul(FloatVector.fromArray(F, x, xo + i)).intoArray(y, yo + i);
    }
    scaleScalar(s, x, xo + i, y, yo + i, n - i);
  }

  /** Scalar twin of {@link #scale}. */
  public static void scaleScalar(float s, float[] x, int xo, float[] y, int yo, int n) {
    for (int i = 0; i < n; i++) {
      y[yo + i] = s * x[xo + i];
    }
  }

  // ---------------------------------------------------------------- y = x − c

  /** {@code y[yo+i] = x[xo+i] − c} for i in [0, n) (softmax's max subtraction). */
  public static void subtract(float[] x, int xo, float c, float[] y, int yo, int n) {
    int i = 0;
    FloatVector cv = FloatVector.broadcast(F, c);
    for (int bound = F.loopBound(n); i < bound; i += F.length()) {
      FloatVector.fromArray(F, x, xo + i).sub(cv).intoArray(y, yo + i);
    }
    subtractScalar(x, xo + i, c, y, yo + i, n - i);
  }

  /** Scalar twin of {@link #subtract}. */
  public static void subtractScalar(float[] x, int xo, float c, float[] y, int yo, int n) {
    for (int i = 0; i < n; i++) {
      y[yo + i] = x[xo + i] - c;
    }
  }

  // ---------------------------------------------------------------- y = x / d

  /** {@code y[yo+i] = x[xo+i] / d} for i in [0, n) (softmax's normalisation). */
  public static void divide(float[] x, int xo, float d, float[] y, int yo, int n) {
    int i = 0;
    FloatVector dv = FloatVector.broadcast(F, d);
    for (int bound = F.loopBound(n); i < bound; i += F.length()) {
      FloatVector.fromArray(F, x, xo + i).div(dv).intoArray(y, yo + i);
    }
    divideScalar(x, xo + i, d, y, yo + i, n - i);
  }

  /** Scalar twin of {@link #divide}. */
  public static void divideScalar(float[] x, int xo, float d, float[] y, int yo, int n) {
    for (int i = 0; i < n; i++) {
      y[yo + i] = x[xo + i] / d;
    }
  }

  // ---------------------------------------------------------------- y += a ⊗ x

  /**
   * {@code y[yo + j·ld + c] = y[yo + j·ld + c] + a[ao+j] · x[xo+c]} for j in [0, n), c in [0, d): a
   * rank-1 update, each element gaining one more term of its running sum, the product rounded and
   * then the sum (no fma). Attention's backward: {@code dK_j += dS_ij·q_i} and {@code dV_j +=
   * P_ij·dO_i} for every key j of one query row. Vectors run along c with 8 lanes (a head dimension
   * D is a multiple of 8 in every Llama), so D = 8 is one vector.
   */
  public static void addOuter(
      float[] a, int ao, float[] x, int xo, float[] y, int yo, int ld, int n, int d) {
    int d8 = H.loopBound(d);
    for (int j = 0; j < n; j++) {
      float aj = a[ao + j];
      int r = yo + j * ld;
      FloatVector av = FloatVector.broadcast(H, aj);
      for (int c = 0; c < d8; c += H.length()) {
        FloatVector.fromArray(H, y, r + c)
            .add(av.mul(FloatVector.fromArray(H, x, xo + c)))
            .intoArray(y, r + c);
      }
      for (int c = d8; c < d; c++) {
        y[r + c] = y[r + c] + aj * x[xo + c];
      }
    }
  }

  /** Scalar twin of {@link #addOuter}. */
  public static void addOuterScalar(
      float[] a, int ao, float[] x, int xo, float[] y, int yo, int ld, int n, int d) {
    for (int j = 0; j < n; j++) {
      float aj = a[ao + j];
      for (int c = 0; c < d; c++) {
        y[yo + j * ld + c] = y[yo + j * ld + c] + aj * x[xo + c];
      }
    }
  }

  // ---------------------------------------------------------------- SiLU

  /**
   * {@code y[yo+i] = x / (1 + e^{−x})} with {@code x = x[xo+i]}, each step rounded to FP32: the
   * exponential is {@code (float) Math.exp(−x)} (through {@link Kernels#mathExp}, bit-identical to
   * it), then {@code 1 + e} and the quotient in FP32. {@code scratch} holds at least n floats and
   * must not alias x or y.
   */
  public static void silu(float[] x, int xo, float[] y, int yo, int n, float[] scratch) {
    int i = 0;
    for (int bound = F.loopBound(n); i < bound; i += F.length()) {
      FloatVector.fromArray(F, x, xo + i).neg().intoArray(scratch, i);
    }
    for (; i < n; i++) {
      scratch[i] = -x[xo + i];
    }
    Kernels.mathExp(scratch, 0, scratch, 0, n);
    i = 0;
    for (int bound = F.loopBound(n); i < bound; i += F.length()) {
      FloatVector e = FloatVector.fromArray(F, scratch, i);
      FloatVector.fromArray(F, x, xo + i).div(e.add(1f)).intoArray(y, yo + i);
    }
    for (; i < n; i++) {
      y[yo + i] = x[xo + i] / (1f + scratch[i]);
    }
  }

  /** Scalar twin of {@link #silu}: {@code x / (1 + (float) Math.exp(−x))} in FP32. */
  public static void siluScalar(float[] x, int xo, float[] y, int yo, int n) {
    for (int i = 0; i < n; i++) {
      float v = x[xo + i];
      y[yo + i] = v / (1f + (float) Math.exp(-v));
    }
  }
}
