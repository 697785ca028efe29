package io.nanscope.engine.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Lanes#dotColumns} and {@link Lanes#weightedRows} (the short-row kernels of the decode
 * step): vector against scalar twin bit for bit, dotColumns against {@link Lanes#dot} of each
 * column copied out (its contract: the same bits), and both against FP64 within the stated budget.
 * Sizes cover the 8-column body, every column tail and every k tail.
 */
class ShortRowKernelsTest {

  /**
   * Random values with ±0 and a wide exponent range mixed in (signed-zero and absorption cases).
   */
  static float[] values(SplittableRandom rnd, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      int kind = rnd.nextInt(16);
      x[i] =
          kind == 0
              ? 0f
              : kind == 1
                  ? -0f
                  : (float) (rnd.nextDouble(-2, 2) * Math.pow(2, rnd.nextInt(-20, 21)));
    }
    return x;
  }

  static void assertSameBits(float[] a, float[] b, int from, int n, String what) {
    for (int i = from; i < from + n; i++) {
      if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
        throw new AssertionError(what + ": first difference at " + i + ": " + a[i] + " vs " + b[i]);
      }
    }
  }

  @ParameterizedTest
  @CsvSource({
    "0,5", "1,1", "7,7", "8,8", "8,9", "8,257", "9,15", "16,33", "64,64", "64,172", "172,64",
    "64,512", "128,17"
  })
  void dotColumnsIsTheOrderedDotOfEachColumn(int k, int n) {
    SplittableRandom rnd = new SplittableRandom(31L * k + n);
    int xo = 2, wo = 5, yo = 3;
    float[] x = values(rnd, xo + k);
    int panels = (n + 7) / 8;
    // row-major (k, ld) with ld > n: panels 8 apart; then packed panels (ld 8), 8k + 3 apart.
    // padded: a last partial panel is read as a full vector; tight: it cannot be.
    for (int[] layout :
        new int[][] {{n + 3, 8, wo + k * (n + 3) + 8}, {8, 8 * k + 3, wo + panels * (8 * k + 3)}}) {
      int ld = layout[0], panel = layout[1];
      float[] w = values(rnd, layout[2]);
      check(x, xo, w, wo, ld, panel, k, yo, n);
      int tight =
          n == 0 || k == 0 ? 0 : wo + ((n - 1) / 8) * panel + (k - 1) * ld + (n - 1) % 8 + 1;
      check(x, xo, java.util.Arrays.copyOf(w, tight), wo, ld, panel, k, yo, n);
    }
  }

  static void check(float[] x, int xo, float[] w, int wo, int ld, int panel, int k, int yo, int n) {
    float[] y = new float[yo + n + 2];
    float[] twin = y.clone();
    Lanes.dotColumns(x, xo, w, wo, ld, panel, k, y, yo, n);
    Lanes.dotColumnsScalar(x, xo, w, wo, ld, panel, k, twin, yo, n);
    assertSameBits(y, twin, 0, y.length, "vector vs twin");
    float[] col = new float[k];
    for (int j = 0; j < n; j++) {
      double exact = 0, abs = 0;
      for (int p = 0; p < k; p++) {
        col[p] = w[wo + (j / 8) * panel + p * ld + j % 8];
        exact += (double) x[xo + p] * col[p];
        abs += Math.abs((double) x[xo + p] * col[p]);
      }
      float dot = Lanes.dot(x, xo, col, 0, k);
      assertThat(Float.floatToRawIntBits(y[yo + j]))
          .as("column %d vs Lanes.dot", j)
          .isEqualTo(Float.floatToRawIntBits(dot));
      // each term meets at most k/8 lane fmas, 3 combining adds and 7 tail fmas
      assertThat(Math.abs(y[yo + j] - exact))
          .isLessThanOrEqualTo(LanesTest.gamma(k / 8 + 10) * abs);
    }
    assertThat(y[0]).isZero();
    assertThat(y[yo + n]).as("no write past n").isZero();
  }

  @Test
  void dotColumnsOfNegativeZeroProductsIsPositiveZeroAsDot() {
    float[] x = {-0f, -0f, -0f, -0f, -0f, -0f, -0f, -0f, -0f};
    float[] w = new float[9 * 16];
    java.util.Arrays.fill(w, 1f);
    float[] y = new float[16];
    Lanes.dotColumns(x, 0, w, 0, 16, 8, 9, y, 0, 16);
    float dot = Lanes.dot(x, 0, w, 0, 9);
    for (float v : y) {
      assertThat(Float.floatToRawIntBits(v)).isEqualTo(Float.floatToRawIntBits(dot));
    }
  }

  @ParameterizedTest
  @CsvSource({"0,8", "1,8", "9,8", "100,8", "5,1", "5,7", "33,128", "17,136"})
  void weightedRowsIsTheSequentialSumOfRoundedProducts(int n, int d) {
    SplittableRandom rnd = new SplittableRandom(7L * n + d);
    int po = 1, vo = 4, yo = 2, ld = d + 5;
    float[] p = values(rnd, po + n);
    float[] v = values(rnd, vo + n * ld + 8);
    float[] y = new float[yo + d + 1];
    float[] twin = y.clone();
    Lanes.weightedRows(p, po, v, vo, ld, n, y, yo, d);
    Lanes.weightedRowsScalar(p, po, v, vo, ld, n, twin, yo, d);
    assertSameBits(y, twin, 0, y.length, "vector vs twin");
    for (int i = 0; i < d; i++) {
      double exact = 0, abs = 0;
      for (int t = 0; t < n; t++) {
        double term = (double) p[po + t] * v[vo + t * ld + i];
        exact += term;
        abs += Math.abs(term);
      }
      // n rounded products and n − 1 sequential adds: γ(n + 1)·Σ|p||v|
      assertThat(Math.abs(y[yo + i] - exact)).isLessThanOrEqualTo(LanesTest.gamma(n + 1) * abs);
    }
    assertThat(y[yo + d]).as("no write past d").isZero();
  }

  /**
   * mathExp is (float) Math.exp bit for bit on every 307th float of [−110, 100] (about 7 M inputs:
   * every binade, both signs, subnormal and infinite results, the fallback lanes) and on specials;
   * the double it rounds is within 2 ulps of Math.exp's (the margin argument of Lanes needs ≤ 4).
   */
  @Test
  void mathExpIsMathExpRoundedToFloat() {
    int block = 1 << 16;
    float[] x = new float[block];
    float[] y = new float[block];
    int n = 0;
    long maxUlps = 0;
    for (int sign = 0; sign < 2; sign++) {
      float limit = sign == 0 ? 100f : -110f;
      for (int bits = 0; bits <= Float.floatToRawIntBits(Math.abs(limit)); bits += 307) {
        float v = Float.intBitsToFloat(bits | (sign << 31));
        x[n++] = v;
        if (Math.abs(v) <= 87f) {
          double approx = Lanes.mathExpApprox(v);
          maxUlps =
              Math.max(
                  maxUlps,
                  Math.abs(
                      Double.doubleToRawLongBits(approx)
                          - Double.doubleToRawLongBits(Math.exp(v))));
        }
        if (n == block) {
          checkMathExp(x, y, n);
          n = 0;
        }
      }
    }
    float[] specials = {
      Float.NaN,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      0f,
      -0f,
      Float.MIN_VALUE,
      -Float.MIN_VALUE,
      Float.MAX_VALUE,
      -Float.MAX_VALUE,
      -87f,
      88f,
      Math.nextDown(-87f),
      Math.nextUp(88f),
      88.72284f,
      -103.97208f,
      1f,
      -1f
    };
    System.arraycopy(specials, 0, x, n, specials.length);
    checkMathExp(x, y, n + specials.length);
    assertThat(maxUlps)
        .as("ulps of double between mathExp's approximation and Math.exp")
        .isLessThanOrEqualTo(2);
  }

  private static void checkMathExp(float[] x, float[] y, int n) {
    for (int off : new int[] {0, 3}) { // vector body and scalar tail at both alignments
      if (n <= off) {
        continue;
      }
      java.util.Arrays.fill(y, 0f);
      Lanes.mathExp(x, off, y, off, n - off);
      for (int i = off; i < n; i++) {
        float want = (float) Math.exp(x[i]);
        if (Float.floatToRawIntBits(y[i]) != Float.floatToRawIntBits(want)) {
          throw new AssertionError(
              "mathExp(" + x[i] + ") = " + y[i] + ", (float) Math.exp = " + want);
        }
      }
    }
  }
}
