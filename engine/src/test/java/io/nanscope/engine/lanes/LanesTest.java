package io.nanscope.engine.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each lane primitive against its scalar twin (bit for bit) and against an FP64 reference written
 * here (with a stated error budget), at sizes that exercise the 8-lane body and every tail length.
 */
class LanesTest {

  private static final double U = 0x1p-24; // unit roundoff of FP32

  /** γ(n) = n·u / (1 − n·u): the classic bound on n successive roundings (Higham, Thm 3.1). */
  static double gamma(int n) {
    return n * U / (1 - n * U);
  }

  static float[] randoms(SplittableRandom rnd, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (rnd.nextDouble(-2, 2) * Math.pow(2, rnd.nextInt(-6, 7)));
    }
    return x;
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 7, 8, 9, 31, 33, 64, 4095, 4096})
  void dotMatchesTwinAndFp64WithinBudget(int n) {
    SplittableRandom rnd = new SplittableRandom(n);
    float[] a = randoms(rnd, n + 3);
    float[] b = randoms(rnd, n + 5);
    float got = Lanes.dot(a, 3, b, 5, n);
    assertThat(Float.floatToRawIntBits(got))
        .isEqualTo(Float.floatToRawIntBits(Lanes.dotScalar(a, 3, b, 5, n)));
    double exact = 0, abs = 0;
    for (int i = 0; i < n; i++) {
      exact += (double) a[3 + i] * b[5 + i]; // exact products; the FP64 sum error is ~n·2^-53
      abs += Math.abs((double) a[3 + i] * b[5 + i]);
    }
    // Each term passes through at most n/8 lane fmas, 3 lane-combining adds and 7 tail fmas.
    assertThat(Math.abs(got - exact)).isLessThanOrEqualTo(gamma(n / 8 + 10) * abs);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 7, 8, 9, 31, 33, 64, 4095, 4096})
  void dotSequentialIsWithinGammaNOfFp64(int n) {
    SplittableRandom rnd = new SplittableRandom(50 + n);
    float[] a = randoms(rnd, n + 3);
    float[] b = randoms(rnd, n + 5);
    float got = Lanes.dotSequential(a, 3, b, 5, n);
    double exact = 0, abs = 0;
    for (int i = 0; i < n; i++) {
      exact += (double) a[3 + i] * b[5 + i];
      abs += Math.abs((double) a[3 + i] * b[5 + i]);
    }
    // Each term passes through at most n fmas of the one chain.
    assertThat(Math.abs(got - exact)).isLessThanOrEqualTo(gamma(n) * abs);
  }

  @Test
  void dotSequentialIsOneChainInIncreasingIFromPlusZero() {
    // 2^24 + 1 + 1 − 2^24 in order: each +1 is absorbed (ties to even), so the chain gives 0;
    // any pairing of the two 1s first would give 2. A product of −0 from +0 stays +0.
    float[] a = {0x1p24f, 1, 1, -0x1p24f};
    float[] ones = {1, 1, 1, 1};
    assertThat(Lanes.dotSequential(a, 0, ones, 0, 4)).isEqualTo(0f);
    float s = Lanes.dotSequential(new float[] {-0f}, 0, new float[] {1f}, 0, 1);
    assertThat(Float.floatToRawIntBits(s)).isEqualTo(Float.floatToRawIntBits(0f));
    assertThat(Lanes.dotSequential(a, 0, ones, 0, 0)).isEqualTo(0f);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 7, 8, 31, 33, 4095})
  void sumMatchesTwinAndFp64WithinBudget(int n) {
    float[] a = randoms(new SplittableRandom(100 + n), n + 1);
    float got = Lanes.sum(a, 1, n);
    assertThat(Float.floatToRawIntBits(got))
        .isEqualTo(Float.floatToRawIntBits(Lanes.sumScalar(a, 1, n)));
    double exact = 0, abs = 0;
    for (int i = 0; i < n; i++) {
      exact += a[1 + i];
      abs += Math.abs(a[1 + i]);
    }
    assertThat(Math.abs(got - exact)).isLessThanOrEqualTo(gamma(n / 8 + 10) * abs);
  }

  @Test
  void reductionOrderIsTheDocumentedOne() {
    // 1 + 2^24 + ... : the order decides which small terms are absorbed; check the exact tree.
    float[] a = {0x1p24f, 1, 1, 1, -0x1p24f, 1, 1, 1, 1, 1};
    float lanes = ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
    float expect = (lanes + a[8]) + a[9];
    assertThat(Lanes.sum(a, 0, 10)).isEqualTo(expect).isEqualTo(8f);
    assertThat(Lanes.sumScalar(a, 0, 10)).isEqualTo(expect);
  }

  @Test
  void nanAndInfinityPropagate() {
    float[] ones = new float[33];
    java.util.Arrays.fill(ones, 1f);
    for (int pos : new int[] {0, 5, 31, 32}) {
      float[] x = ones.clone();
      x[pos] = Float.NaN;
      assertThat(Lanes.dot(x, 0, ones, 0, 33)).isNaN();
      assertThat(Lanes.sum(x, 0, 33)).isNaN();
      assertThat(Lanes.max(x, 0, 33)).isNaN();
      x[pos] = Float.POSITIVE_INFINITY;
      assertThat(Lanes.dot(x, 0, ones, 0, 33)).isEqualTo(Float.POSITIVE_INFINITY);
      assertThat(Lanes.sum(x, 0, 33)).isEqualTo(Float.POSITIVE_INFINITY);
      assertThat(Lanes.max(x, 0, 33)).isEqualTo(Float.POSITIVE_INFINITY);
      float[] y = ones.clone();
      y[(pos + 9) % 33] = Float.NEGATIVE_INFINITY;
      assertThat(Lanes.dot(x, 0, y, 0, 33)).isNaN(); // inf + (−inf)
    }
    // Overflow of an FP32 accumulator: 33 × 2^127 × 2 is past maxFinite.
    float[] big = new float[33];
    java.util.Arrays.fill(big, 0x1p127f);
    float[] two = new float[33];
    java.util.Arrays.fill(two, 2f);
    assertThat(Lanes.dot(big, 0, two, 0, 33)).isEqualTo(Float.POSITIVE_INFINITY);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 7, 31, 33, 4095})
  void maxMatchesTwinAndSignedZeros(int n) {
    float[] a = randoms(new SplittableRandom(7 + n), n);
    assertThat(Lanes.max(a, 0, n)).isEqualTo(Lanes.maxScalar(a, 0, n));
    double ref = Double.NEGATIVE_INFINITY;
    for (float v : a) {
      ref = Math.max(ref, v);
    }
    assertThat((double) Lanes.max(a, 0, n)).isEqualTo(ref);
    float[] zeros = new float[n];
    java.util.Arrays.fill(zeros, -0f);
    if (n > 0) {
      zeros[n - 1] = 0f;
      assertThat(Float.floatToRawIntBits(Lanes.max(zeros, 0, n))).isZero(); // +0 > −0
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 31, 33, 4095})
  void axpyMatchesTwinAndFp64(int n) {
    SplittableRandom rnd = new SplittableRandom(3 * n);
    float[] x = randoms(rnd, n);
    float[] y = randoms(rnd, n);
    float[] y2 = y.clone();
    float alpha = 0.37f;
    Lanes.axpy(alpha, x, 0, y, 0, n);
    float[] y0 = y2.clone();
    Lanes.axpyScalar(alpha, x, 0, y2, 0, n);
    assertThat(y).isEqualTo(y2);
    for (int i = 0; i < n; i++) {
      assertThat(y[i]).isEqualTo((float) ((double) alpha * x[i] + y0[i])); // fma: one rounding
    }
  }

  @Test
  void expIsWithinOneUlpOfMathExpAndMatchesTwin() {
    SplittableRandom rnd = new SplittableRandom(42);
    int n = 1 << 20;
    float[] x = new float[n + 3];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) rnd.nextDouble(-110, 95);
    }
    float[] y = new float[x.length];
    Lanes.exp(x, 0, y, 0, x.length);
    double worst = 0;
    for (int i = 0; i < x.length; i++) {
      assertThat(Float.floatToRawIntBits(y[i]))
          .isEqualTo(Float.floatToRawIntBits(Lanes.expScalar(x[i])));
      double exact = Math.exp(x[i]);
      float rounded = (float) exact;
      double ulp = Math.ulp(rounded == 0 ? Float.MIN_VALUE : rounded);
      if (Float.isInfinite(rounded)) {
        assertThat(y[i]).as("x=%s", x[i]).isEqualTo(Float.POSITIVE_INFINITY);
        continue;
      }
      worst = Math.max(worst, Math.abs(y[i] - exact) / ulp);
    }
    // Budget 1 ulp (faithful): Horner in FP32 (7 fmas) on |r| ≤ 0.35 gives ~0.5 ulp on top of the
    // final rounding; measured worst 0.92 ulp over every 7th float in [−104, 89].
    assertThat(worst).isLessThanOrEqualTo(1.0);
  }

  @Test
  void expSpecialValues() {
    float[] x = {
      Float.NaN,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      0f,
      -0f,
      88.72f,
      88.73f,
      -103.9f,
      -104.5f
    };
    float[] y = new float[16];
    float[] xs = java.util.Arrays.copyOf(x, 16); // 16 lanes: two vectors go through the vector path
    Lanes.exp(xs, 0, y, 0, 16);
    assertThat(y[0]).isNaN();
    assertThat(y[1]).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(y[2]).isEqualTo(0f);
    assertThat(y[3]).isEqualTo(1f);
    assertThat(y[4]).isEqualTo(1f);
    assertThat(y[5]).isEqualTo((float) Math.exp(88.72f)).isFinite();
    assertThat(y[6]).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(y[7]).isGreaterThan(0f).isLessThan(Float.MIN_NORMAL); // subnormal result
    assertThat(y[8]).isEqualTo(0f);
  }

  @Test
  void decode16IsExactOnAll65536PatternsOfBothFormats() {
    short[] all = new short[1 << 16];
    for (int i = 0; i < all.length; i++) {
      all[i] = (short) i;
    }
    MemorySegment seg = MemorySegment.ofArray(all);
    float[] fp16 = new float[all.length];
    float[] bf16 = new float[all.length];
    Lanes.decode16(FloatFormat.FP16, seg, 0, fp16, 0, all.length);
    Lanes.decode16(FloatFormat.BF16, seg, 0, bf16, 0, all.length);
    for (int i = 0; i < all.length; i++) {
      // Independent references: the JDK's FP16 intrinsic; BF16 is by definition the top half of
      // FP32.
      assertThat(Float.floatToRawIntBits(fp16[i]))
          .as("fp16 0x%04x", i)
          .isEqualTo(Float.floatToRawIntBits(Float.float16ToFloat(all[i])));
      assertThat(Float.floatToRawIntBits(bf16[i])).as("bf16 0x%04x", i).isEqualTo(i << 16);
    }
    // A tail shorter than one vector, at an odd start.
    float[] tail = new float[7];
    Lanes.decode16(FloatFormat.FP16, seg, 0x3c00 + 1, tail, 0, 7);
    for (int i = 0; i < 7; i++) {
      assertThat(tail[i]).isEqualTo(Float.float16ToFloat((short) (0x3c01 + i)));
    }
  }

  @Test
  void registerFp16DecodeIsExactForEveryFinitePatternAndInfiniteOtherwise() {
    short[] all = new short[1 << 16];
    for (int i = 0; i < all.length; i++) {
      all[i] = (short) i;
    }
    // Native memory, like weights (the matvec reads heap, native and mapped segments alike).
    try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
      MemorySegment seg = arena.allocate(2L * all.length, 64);
      seg.copyFrom(MemorySegment.ofArray(all));
      float[] got = new float[all.length];
      for (int i = 0; i < all.length; i += Lanes.W) {
        Lanes.decodeFp16Finite(seg, i).intoArray(got, i);
      }
      int finite = 0;
      for (int i = 0; i < all.length; i++) {
        float jdk = Float.float16ToFloat(all[i]); // independent reference: the JDK
        if (Float.isFinite(jdk)) {
          finite++;
          assertThat(Float.floatToRawIntBits(got[i]))
              .as("fp16 0x%04x", i)
              .isEqualTo(Float.floatToRawIntBits(jdk));
        } else {
          // inf and every NaN (exponent all ones): ±inf with the pattern's sign
          assertThat(got[i])
              .as("fp16 0x%04x", i)
              .isEqualTo((i & 0x8000) == 0 ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY);
        }
      }
      assertThat(finite).isEqualTo(2 * 31 * 1024); // both signs, exponents 0..30, every mantissa
    }
  }
}
