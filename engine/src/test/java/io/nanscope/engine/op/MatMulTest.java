package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MatMulTest {

  private static final Site SITE = Site.of("test", "matmul");

  /**
   * Forward vs the FP64 reference for reduction lengths C = 1, 7, 31, 33, 4095. Budgets: FP64:
   * sequential double sum, error ≤ C·u₆₄·Σ|x·w| (Higham's γ_C), taken as 1e-13 relative to Σ|x·w|.
   * FP32 accumulate: ≤ C·u₃₂·Σ|x·w| (u₃₂ = 2^-24), plus the output rounding u·|y|. FP16 out / FP32
   * accumulate (pytorch-fp16): inputs are FP16 values (exact in the reference), the FP32 sum errs
   * by ≤ C·u₃₂·Σ|x·w|, and the output rounding adds ≤ 2^-11·|y|.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 7, 31, 33, 4095})
  void forwardMatchesReferenceWithinBudget(int c) {
    SplittableRandom rnd = new SplittableRandom(c);
    int t = 3, n = 5;
    for (FloatFormat f :
        List.of(FloatFormat.FP64, FloatFormat.FP32, FloatFormat.FP16, FloatFormat.BF16)) {
      Tensor x = GradCheck.random(rnd, f, 2.0, t, c);
      Tensor w = GradCheck.random(rnd, f, 2.0, n, c);
      Precision p =
          f == FloatFormat.FP64
              ? Precision.FP64
              : new Precision(f, FloatFormat.FP32, FloatFormat.FP32);
      Tensor y = MatMul.forward(OpContext.DEFAULT, SITE, p, x, w);
      assertThat(y.shape()).isEqualTo(Shape.of(t, n));
      assertThat(y.format()).isEqualTo(f);
      double[] ref = Reference64.linear(x.toDoubleArray(), w.toDoubleArray(), t, c, n);
      double uAcc = f == FloatFormat.FP64 ? 1e-13 / c : Math.scalb(1.0, -24);
      double uOut = f == FloatFormat.FP64 ? 0 : f.info().ulpOfOne() / 2;
      for (int i = 0; i < t; i++) {
        for (int j = 0; j < n; j++) {
          double abs = 0;
          for (int k = 0; k < c; k++) {
            abs += Math.abs(x.getDouble((long) i * c + k) * w.getDouble((long) j * c + k));
          }
          double budget = c * uAcc * abs * (1 + uOut) + uOut * Math.abs(ref[i * n + j]);
          assertThat(Math.abs(y.getDouble((long) i * n + j) - ref[i * n + j]))
              .as("%s C=%d y[%d,%d]", f, c, i, j)
              .isLessThanOrEqualTo(budget);
        }
      }
    }
  }

  /**
   * Gram matrix XᵀX vs a separately written FP64 double loop, over T = 1, 7, 31, 33, 4095 rows.
   * Budget (FP32 accumulate, FP32 out): T·u₃₂·Σ_t|x_ti·x_tj| + u₃₂·|G_ij|, as for the forward. G is
   * also exactly symmetric (each G[i, j] and G[j, i] is the same reduction of the same products).
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 7, 31, 33, 4095})
  void gramMatchesReferenceWithinBudget(int t) {
    SplittableRandom rnd = new SplittableRandom(100 + t);
    int c = 9;
    Tensor x = GradCheck.random(rnd, FloatFormat.FP32, 3.0, t, c);
    Tensor g = MatMul.gram(OpContext.DEFAULT, SITE, Precision.FP32, x);
    assertThat(g.shape()).isEqualTo(Shape.of(c, c));
    double u = Math.scalb(1.0, -24);
    for (int i = 0; i < c; i++) {
      for (int j = 0; j < c; j++) {
        double ref = 0, abs = 0;
        for (int r = 0; r < t; r++) {
          double p = x.getDouble((long) r * c + i) * x.getDouble((long) r * c + j);
          ref += p;
          abs += Math.abs(p);
        }
        assertThat(Math.abs(g.getDouble((long) i * c + j) - ref))
            .as("T=%d G[%d,%d]", t, i, j)
            .isLessThanOrEqualTo(t * u * abs * (1 + u) + u * Math.abs(ref));
        assertThat(g.get((long) i * c + j)).isEqualTo(g.get((long) j * c + i));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 33})
  void backwardMatchesCentralDifferences(int c) {
    SplittableRandom rnd = new SplittableRandom(c);
    Tensor x = GradCheck.random(rnd, FloatFormat.FP64, 1, 4, c);
    Tensor w = GradCheck.random(rnd, FloatFormat.FP64, 1, 3, c);
    GradCheck.check(
        "matmul C=" + c,
        List.of(x, w),
        (tape, v) ->
            MatMul.apply(tape, OpContext.DEFAULT, SITE, Precision.FP64, v.get(0), v.get(1)));
  }

  @Test
  void strictFp16AccumulatorRoundsEveryStep() {
    // 3000 products of 1·1: FP32 accumulation gives 3000 (rounded to FP16: 3000, exact), a
    // per-step FP16 accumulator sticks at 2048 (2048 + 1 rounds back to 2048, ties to even).
    int c = 3000;
    float[] ones = new float[c];
    java.util.Arrays.fill(ones, 1f);
    Tensor x = Tensor.of(FloatFormat.FP16, Shape.of(1, c), ones);
    Tensor w = Tensor.of(FloatFormat.FP16, Shape.of(1, c), ones);
    Precision pytorch = new Precision(FloatFormat.FP16, FloatFormat.FP32, FloatFormat.FP32);
    Precision strict = Precision.uniform(FloatFormat.FP16);
    assertThat(MatMul.forward(OpContext.DEFAULT, SITE, pytorch, x, w).get(0)).isEqualTo(3000f);
    assertThat(MatMul.forward(OpContext.DEFAULT, SITE, strict, x, w).get(0)).isEqualTo(2048f);
  }

  @Test
  void mismatchedShapesSayWhatWasExpected() {
    Tensor x = Tensor.zeros(FloatFormat.FP32, Shape.of(2, 3));
    Tensor w = Tensor.zeros(FloatFormat.FP32, Shape.of(4, 5));
    assertThatThrownBy(() -> MatMul.forward(OpContext.DEFAULT, SITE, Precision.FP32, x, w))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected");
  }
}
