package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Budget: bit-identical to one {@link Kernels#matmulNT} per matrix, for any thread count. */
class MatvecSplitTest {

  static Tensor random(FloatFormat f, int rows, int cols, SplittableRandom rnd) {
    float[] v = new float[rows * cols];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) rnd.nextDouble(-1, 1);
    }
    return Tensor.of(FloatFormat.FP32, Shape.of(rows, cols), v).to(f);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3})
  void blocksOnThreadsGiveTheBitsOfOneMatmulPerMatrix(int threads) {
    SplittableRandom rnd = new SplittableRandom(threads);
    int k = 70;
    Tensor x = random(FloatFormat.FP32, 1, k, rnd);
    // 600 rows: two full blocks and a partial one; 1 row; exactly one block
    Tensor[] ws = {
      random(FloatFormat.BF16, 600, k, rnd),
      random(FloatFormat.FP32, 1, k, rnd),
      random(FloatFormat.FP16, MatvecSplit.ROWS, k, rnd)
    };
    float[][] outs = {new float[600], new float[1], new float[MatvecSplit.ROWS]};
    MatvecSplit.matvecs(x, ws, outs, threads);
    for (int m = 0; m < ws.length; m++) {
      float[] want = new float[outs[m].length];
      Kernels.matmulNT(x, ws[m], want, 1);
      for (int i = 0; i < want.length; i++) {
        assertThat(Float.floatToRawIntBits(outs[m][i]))
            .as("matrix %d row %d", m, i)
            .isEqualTo(Float.floatToRawIntBits(want[i]));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void aFailingBlockFailsTheCall(int threads) {
    Tensor x = Tensor.zeros(FloatFormat.FP32, Shape.of(1, 8));
    float[][] outs = {new float[600]};
    assertThatThrownBy(() ->
            MatvecSplit.matvecs(
                x,
                new Tensor[] {Tensor.zeros(FloatFormat.FP32, Shape.of(600, 8))},
                new float[][] {new float[10]},
                threads))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("600 rows");
    // a block that fails on a helper thread (x narrower than the weight rows) fails the call
    Tensor[] mismatched = {Tensor.zeros(FloatFormat.FP32, Shape.of(600, 9))};
    assertThatThrownBy(() -> MatvecSplit.matvecs(x, mismatched, outs, threads))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("matmulNT");
  }
}
