package io.nanscope.engine.autograd;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@code grad += g} into an FP32 gradient (the bulk float path) against the sum written here from
 * its definition: the double sum of the two stored values rounded once to FP32, a NaN stored as the
 * canonical NaN. Gradients in FP32, FP16 and BF16; sizes 1, 7, 31, 33, 4095; NaN (with payloads),
 * ±inf, inf − inf, ±0, subnormals, sums that overflow and ties of the float sum.
 */
class VarAccumulateTest {

  private static final float[] SPECIAL = {
    Float.NaN,
    Float.intBitsToFloat(0xffc01234),
    Float.POSITIVE_INFINITY,
    Float.NEGATIVE_INFINITY,
    0f,
    -0f,
    Float.MIN_VALUE,
    -Float.MIN_VALUE,
    1.1754942e-38f,
    Float.MAX_VALUE,
    -Float.MAX_VALUE,
    1f,
    5.9604645e-8f, // 2^-24: 1 + this is a tie in FP32
    65504f
  };

  private static float[] values(SplittableRandom rnd, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] =
          rnd.nextInt(3) == 0
              ? SPECIAL[rnd.nextInt(SPECIAL.length)]
              : (float) (rnd.nextGaussian() * Math.scalb(1.0, rnd.nextInt(-30, 30)));
    }
    return v;
  }

  @Test
  void fp32GradientSumIsTheRoundedDoubleSum() {
    SplittableRandom rnd = new SplittableRandom(21);
    int checked = 0;
    for (FloatFormat gf :
        new FloatFormat[] {FloatFormat.FP32, FloatFormat.FP16, FloatFormat.BF16}) {
      for (int n : new int[] {1, 7, 31, 33, 4095}) {
        Shape sh = Shape.of(n);
        Tensor first = Tensor.of(FloatFormat.FP32, sh, values(rnd, n));
        Tensor second = Tensor.of(gf, sh, values(rnd, n)); // rounded to its format when stored
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
          double sum = (double) first.get(i) + (double) second.get(i);
          expected[i] = Double.isNaN(sum) ? Float.NaN : (float) sum;
        }
        Var v = new Var(Tensor.zeros(FloatFormat.FP32, sh), true, FloatFormat.FP32, "v");
        v.accumulate(first);
        v.accumulate(second);
        for (int i = 0; i < n; i++) {
          assertThat(Float.floatToRawIntBits(v.grad().get(i)))
              .as("%s n=%d i=%d: %s + %s", gf, n, i, first.get(i), second.get(i))
              .isEqualTo(Float.floatToRawIntBits(expected[i]));
        }
        checked++;
      }
    }
    assertThat(checked).isEqualTo(15);
  }
}
