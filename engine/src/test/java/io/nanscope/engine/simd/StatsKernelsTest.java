package io.nanscope.engine.simd;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link StatsKernels#add} against its scalar twin, field by field, at the tail sizes. */
class StatsKernelsTest {

  private static void same(StatsKernels.Census a, StatsKernels.Census b, String what) {
    assertThat(
            new long[] {
              a.count,
              a.nan,
              a.posInf,
              a.negInf,
              a.zero,
              a.subnormal,
              a.overflow,
              a.underflow,
              a.saturationCandidates
            })
        .as(what)
        .containsExactly(
            b.count,
            b.nan,
            b.posInf,
            b.negInf,
            b.zero,
            b.subnormal,
            b.overflow,
            b.underflow,
            b.saturationCandidates);
    assertThat(Float.floatToRawIntBits(a.maxAbs))
        .as(what)
        .isEqualTo(Float.floatToRawIntBits(b.maxAbs));
    assertThat(Float.floatToRawIntBits(a.minAbsNonZero))
        .as(what)
        .isEqualTo(Float.floatToRawIntBits(b.minAbsNonZero));
    assertThat(Float.floatToRawIntBits(a.unroundedMaxAbs))
        .as(what)
        .isEqualTo(Float.floatToRawIntBits(b.unroundedMaxAbs));
  }

  @Test
  void vectorEqualsScalarTwin() {
    SplittableRandom rnd = new SplittableRandom(5);
    float[] pool = {
      Float.NaN,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      0f,
      -0f,
      65504f,
      -65504f,
      70000f,
      1e-7f,
      6.1e-5f,
      Float.MIN_VALUE,
      448f,
      -480f,
      1f,
      -2.5f,
      Float.intBitsToFloat(0xffc00001), // a negative NaN with a payload
      -70000f,
      Float.MAX_VALUE,
      3.3895314e38f, // BF16's maxFinite
      1.1754942e-38f, // FP32's largest subnormal
      0.015625f // FP8 E4M3's minNormal
    };
    // FP16's, BF16's and FP8 E4M3's (maxFinite, minNormal)
    float[][] limits = {
      {65504f, 6.1035156e-5f}, {3.3895314e38f, 1.17549435e-38f}, {448f, 0.015625f}
    };
    for (float[] lim : limits) {
      for (boolean hasInf : new boolean[] {true, false}) {
        for (int n : new int[] {1, 7, 31, 33, 4095}) {
          float[] x = new float[n], u = new float[n];
          for (int i = 0; i < n; i++) {
            x[i] =
                rnd.nextInt(3) == 0 ? pool[rnd.nextInt(pool.length)] : (float) rnd.nextGaussian();
            u[i] = rnd.nextInt(3) == 0 ? pool[rnd.nextInt(pool.length)] : x[i];
          }
          for (float[] uu : new float[][] {u, null}) {
            StatsKernels.Census v = new StatsKernels.Census(), s = new StatsKernels.Census();
            StatsKernels.add(x, uu, n, lim[0], lim[1], hasInf, v);
            StatsKernels.addScalar(x, uu, 0, n, lim[0], lim[1], hasInf, s);
            same(v, s, "max=" + lim[0] + " n=" + n + " inf=" + hasInf + " u=" + (uu != null));
          }
        }
      }
    }
  }

  /**
   * The vector pass's common case (every x and u finite, no u beyond maxFinite: its lean loop)
   * against the scalar twin: zeros, ±0, subnormals, underflows (x = 0, u ≠ 0), values at maxFinite,
   * at the tail sizes; and one NaN, inf or too-large u put in to send the block back to the twin.
   */
  @Test
  void commonBlocksEqualScalarTwin() {
    SplittableRandom rnd = new SplittableRandom(8);
    float[] pool = {0f, -0f, 1e-7f, -3e-6f, 6.1035156e-5f, 65504f, -65504f, Float.MIN_VALUE};
    for (int n : new int[] {1, 7, 8, 31, 33, 4095}) {
      for (int kind = 0; kind < 4; kind++) {
        float[] x = new float[n], u = new float[n];
        for (int i = 0; i < n; i++) {
          x[i] = rnd.nextInt(4) == 0 ? pool[rnd.nextInt(pool.length)] : (float) rnd.nextGaussian();
          int r = rnd.nextInt(6);
          u[i] = r == 0 && x[i] == 0 ? 1e-9f : r == 1 ? Math.nextUp(x[i]) : x[i];
        }
        if (kind == 1) {
          x[n / 2] = Float.NaN;
        } else if (kind == 2) {
          u[n - 1] = 65520f; // beyond maxFinite: the saturation / overflow count decides
          x[n - 1] = 65504f;
        } else if (kind == 3) {
          x[0] = Float.NEGATIVE_INFINITY;
        }
        StatsKernels.Census v = new StatsKernels.Census(), s = new StatsKernels.Census();
        StatsKernels.add(x, u, n, 65504f, 6.1035156e-5f, true, v);
        StatsKernels.addScalar(x, u, 0, n, 65504f, 6.1035156e-5f, true, s);
        same(v, s, "common n=" + n + " kind=" + kind);
        assertThat(v.count).isEqualTo(n);
      }
    }
  }

  /**
   * {@link StatsKernels#countNonFinite} against its scalar twin and against a count written here
   * with {@code Float.isNaN}/{@code Float.isInfinite}: all finite (the vector loop's fast exit),
   * one NaN or inf in the vector part or in the tail, and random mixes, at the tail sizes.
   */
  @Test
  void nonFiniteCountEqualsTwinAndReference() {
    SplittableRandom rnd = new SplittableRandom(11);
    float[] pool = {
      Float.NaN,
      Float.intBitsToFloat(0xffc00001), // a negative NaN with a payload
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      0f,
      -0f,
      Float.MAX_VALUE,
      -Float.MAX_VALUE,
      Float.MIN_VALUE,
      1.1754942e-38f, // the largest subnormal
      65504f
    };
    for (int n : new int[] {1, 7, 31, 33, 4095}) {
      for (int kind = 0; kind < 5; kind++) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
          x[i] =
              kind == 4 && rnd.nextInt(3) == 0
                  ? pool[rnd.nextInt(pool.length)]
                  : (float) (rnd.nextGaussian() * 1e30);
        }
        if (kind == 1) {
          x[0] = Float.NaN; // in the vector part when n >= 8
        } else if (kind == 2) {
          x[n - 1] = Float.NEGATIVE_INFINITY; // in the tail unless n is a multiple of 8
        } else if (kind == 3) {
          x[n / 2] = Float.POSITIVE_INFINITY;
          x[n - 1] = Float.NaN;
        }
        long nan = 0, inf = 0;
        for (float v : x) {
          nan += Float.isNaN(v) ? 1 : 0;
          inf += Float.isInfinite(v) ? 1 : 0;
        }
        long[] vec = {3, 4}; // counts are added to what is there
        long[] twin = {3, 4};
        StatsKernels.countNonFinite(x, n, vec);
        StatsKernels.countNonFiniteScalar(x, 0, n, twin);
        assertThat(vec).as("n=%d kind=%d", n, kind).containsExactly(3 + nan, 4 + inf);
        assertThat(twin).as("twin n=%d kind=%d", n, kind).containsExactly(3 + nan, 4 + inf);
      }
    }
  }
}
