package io.nanscope.engine.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link RoundingKernels#canonicalNaN} and its scalar twin against the rule written here on raw
 * bits: a NaN of any sign and payload becomes {@code 0x7fc00000}, every other float (±0, ±inf,
 * subnormals) keeps its bits, elements outside [from, to) are untouched. Sizes 1, 7, 31, 33, 4095,
 * at offsets 0 and 3, with no NaN, one NaN and many.
 */
class CanonicalNaNTest {

  private static final int[] NAN_BITS = {
    0x7fc00000, 0xffc00000, 0x7f800001, 0xffbfffff, 0x7fc01234
  };

  @Test
  void nanBecomesCanonicalAndNothingElseMoves() {
    SplittableRandom rnd = new SplittableRandom(3);
    float[] others = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE};
    int checked = 0;
    for (int n : new int[] {1, 7, 31, 33, 4095}) {
      for (int from : new int[] {0, 3}) {
        for (int kind = 0; kind < 3; kind++) {
          float[] a = new float[from + n + 2];
          for (int i = 0; i < a.length; i++) {
            a[i] =
                rnd.nextInt(4) == 0
                    ? others[rnd.nextInt(others.length)]
                    : (float) rnd.nextGaussian();
            if (kind == 2 && rnd.nextInt(5) == 0) {
              a[i] = Float.intBitsToFloat(NAN_BITS[rnd.nextInt(NAN_BITS.length)]);
            }
          }
          if (kind == 1) {
            a[from + n - 1] = Float.intBitsToFloat(0xffc00001);
          }
          int[] expected = new int[a.length];
          for (int i = 0; i < a.length; i++) {
            int bits = Float.floatToRawIntBits(a[i]);
            boolean nan = (bits & 0x7fffffff) > 0x7f800000;
            expected[i] = nan && i >= from && i < from + n ? 0x7fc00000 : bits;
          }
          float[] v = a.clone(), s = a.clone();
          RoundingKernels.canonicalNaN(v, from, from + n);
          RoundingKernels.canonicalNaNScalar(s, from, from + n);
          for (int i = 0; i < a.length; i++) {
            assertThat(Float.floatToRawIntBits(v[i]))
                .as("vector n=%d i=%d", n, i)
                .isEqualTo(expected[i]);
            assertThat(Float.floatToRawIntBits(s[i]))
                .as("twin n=%d i=%d", n, i)
                .isEqualTo(expected[i]);
          }
          checked++;
        }
      }
    }
    assertThat(checked).isEqualTo(30);
  }
}
