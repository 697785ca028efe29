package io.nanscope.engine.simd;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link ElementwiseKernels#addOuter} against its scalar twin and against an independent FP64
 * reference: each element {@code R_32(y + R_32(a·x))} formed in double (the product of two floats
 * is exact in double; the double sum of two floats rounded to FP32 is the FP32 sum, Figueroa 1995).
 * Budget: zero (bit-identical), NaN compared as NaN. Row lengths d hit the 8-lane tails (1, 7, 31,
 * 33, 4095); inputs include NaN, ±inf, ±0, subnormals and products that overflow.
 */
class ElementwiseKernelsTest {

  private static float[] values(int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] special = {
      Float.NaN,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      0f,
      -0f,
      Float.MIN_VALUE,
      -1e-40f,
      Float.MAX_VALUE
    };
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] =
          rnd.nextInt(30) == 0
              ? special[rnd.nextInt(special.length)]
              : (float) (rnd.nextBoolean() ? 1 : -1)
                  * (float) Math.scalb(1 + rnd.nextDouble(), rnd.nextInt(-140, 120));
    }
    return v;
  }

  @Test
  void addOuterIsItsTwinAndTheFp64Reference() {
    for (int d : new int[] {1, 7, 8, 31, 33, 4095}) {
      for (int n : new int[] {1, 3, 9}) {
        int ld = d + 5, yo = 2, ao = 1, xo = 3;
        float[] a = values(ao + n, 11L * d + n), x = values(xo + d, 13L * d + n);
        float[] y0 = values(yo + n * ld, 17L * d + n);
        float[] vec = y0.clone(), twin = y0.clone(), ref = y0.clone();
        ElementwiseKernels.addOuter(a, ao, x, xo, vec, yo, ld, n, d);
        ElementwiseKernels.addOuterScalar(a, ao, x, xo, twin, yo, ld, n, d);
        for (int j = 0; j < n; j++) {
          for (int c = 0; c < d; c++) {
            int i = yo + j * ld + c;
            double product = (double) a[ao + j] * (double) x[xo + c];
            ref[i] = (float) ((double) ref[i] + (double) (float) product);
          }
        }
        for (int i = 0; i < y0.length; i++) {
          String at = "d=" + d + " n=" + n + " i=" + i;
          assertThat(Float.floatToIntBits(vec[i])).as(at).isEqualTo(Float.floatToIntBits(twin[i]));
          assertThat(Float.floatToIntBits(twin[i])).as(at).isEqualTo(Float.floatToIntBits(ref[i]));
        }
      }
    }
  }
}
