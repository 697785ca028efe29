package io.nanscope.llama.weights;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.RopeLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RopePermutationTest {

  @ParameterizedTest
  @ValueSource(ints = {2, 4, 8, 16, 64, 128})
  void isABijectionAndItsInverseUndoesIt(int headDim) {
    int heads = 3;
    int rows = heads * headDim;
    boolean[] hit = new boolean[rows];
    for (int r = 0; r < rows; r++) {
      int h = RopePermutation.hfRowOf(r, headDim);
      assertThat(h)
          .isBetween(
              r / headDim * headDim, r / headDim * headDim + headDim - 1); // stays in its head
      assertThat(hit[h]).as("row %d hit twice", h).isFalse();
      hit[h] = true;
      assertThat(RopePermutation.metaRowOf(h, headDim)).isEqualTo(r);
      assertThat(RopePermutation.hfRowOf(RopePermutation.metaRowOf(r, headDim), headDim))
          .isEqualTo(r);
    }
  }

  @Test
  void matchesTheTransformersViewTransposeFormula() {
    // w.view(H, D/2, 2, C).transpose(1, 2).reshape(H*D, C) for D = 8: new row order of old rows
    int[] expectedMetaRowAtHfRow = {0, 2, 4, 6, 1, 3, 5, 7, 8, 10, 12, 14, 9, 11, 13, 15};
    for (int hf = 0; hf < 16; hf++) {
      assertThat(RopePermutation.metaRowOf(hf, 8)).isEqualTo(expectedMetaRowAtHfRow[hf]);
    }
  }

  @Test
  void permuteThenUnpermuteIsIdentityOnTensors() {
    Tensor w = random(Shape.of(4 * 8, 5), 1);
    Tensor hf =
        RopePermutation.permuteRows(w, 4, RopeLayout.META_INTERLEAVED, RopeLayout.HF_ROTATE_HALF);
    Tensor back =
        RopePermutation.permuteRows(hf, 4, RopeLayout.HF_ROTATE_HALF, RopeLayout.META_INTERLEAVED);
    assertThat(hf.toFloatArray()).isNotEqualTo(w.toFloatArray());
    assertThat(back.toFloatArray()).containsExactly(w.toFloatArray());
  }

  /**
   * The point of the permutation: Meta's RoPE on interleaved pairs of W x equals HF's rotate_half
   * RoPE on halves of W_hf x, element for element (FP64, computed independently here).
   */
  @Test
  void interleavedRopeOnMetaRowsEqualsRotateHalfOnHfRows() {
    int heads = 2;
    int d = 8;
    int c = 6;
    Tensor w = random(Shape.of(heads * d, c), 7);
    Tensor whf =
        RopePermutation.permuteRows(
            w, heads, RopeLayout.META_INTERLEAVED, RopeLayout.HF_ROTATE_HALF);
    double[] x = new double[c];
    SplittableRandom r = new SplittableRandom(3);
    for (int i = 0; i < c; i++) {
      x[i] = r.nextDouble(-1, 1);
    }
    for (int pos : new int[] {0, 1, 5, 100}) {
      double[] qm = matvec(w, x);
      double[] qh = matvec(whf, x);
      for (int h = 0; h < heads; h++) {
        for (int i = 0; i < d / 2; i++) {
          double theta = pos * Math.pow(10000.0, -2.0 * i / d);
          double cos = Math.cos(theta);
          double sin = Math.sin(theta);
          int a = h * d + 2 * i; // Meta: pair (2i, 2i+1)
          double m0 = qm[a] * cos - qm[a + 1] * sin;
          double m1 = qm[a] * sin + qm[a + 1] * cos;
          qm[a] = m0;
          qm[a + 1] = m1;
          int b = h * d + i; // HF: pair (i, i + D/2), rotate_half
          double h0 = qh[b] * cos - qh[b + d / 2] * sin;
          double h1 = qh[b + d / 2] * cos + qh[b] * sin;
          qh[b] = h0;
          qh[b + d / 2] = h1;
        }
      }
      for (int row = 0; row < heads * d; row++) {
        assertThat(qh[RopePermutation.hfRowOf(row, d)])
            .as("pos %d row %d", pos, row)
            .isEqualTo(qm[row]);
      }
    }
  }

  private static double[] matvec(Tensor w, double[] x) {
    int rows = (int) w.shape().dim(0);
    double[] y = new double[rows];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < x.length; j++) {
        y[i] += w.get(i, j) * x[j];
      }
    }
    return y;
  }

  static Tensor random(Shape s, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    Tensor t = Tensor.zeros(FloatFormat.FP32, s);
    for (long i = 0; i < t.size(); i++) {
      t.set(i, (float) r.nextDouble(-1, 1));
    }
    return t;
  }
}
