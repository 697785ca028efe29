package io.nanscope.editing.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SecondMomentAccumulatorTest {

  private static float[] keys(SplittableRandom rnd, int rows, int dim, double scale) {
    float[] k = new float[rows * dim];
    for (int i = 0; i < k.length; i++) {
      k[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
    }
    return k;
  }

  /**
   * Exact Σ_t k_ti k_tj with BigDecimal and the bound (n − 1)·2⁻⁵³·Σ|k_ti k_tj| of sequential FP64
   * summation.
   */
  @Test
  void withinSequentialSummationBoundOfTheExactSum() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (int dim : new int[] {1, 7, 33}) {
      int rows = 301;
      float[] k = keys(rnd, rows, dim, 1e3);
      SecondMomentAccumulator acc = new SecondMomentAccumulator(dim);
      acc.accumulate(k, rows, dim);
      double[] s = acc.result(Optional.empty()).sum();
      for (int i = 0; i < dim; i++) {
        for (int j = 0; j < dim; j++) {
          BigDecimal exact = BigDecimal.ZERO;
          double abs = 0;
          for (int t = 0; t < rows; t++) {
            exact =
                exact.add(new BigDecimal(k[t * dim + i]).multiply(new BigDecimal(k[t * dim + j])));
            abs += Math.abs((double) k[t * dim + i] * k[t * dim + j]);
          }
          double bound = (rows - 1) * 0x1p-53 * abs * 1.0000001;
          double err = new BigDecimal(s[i * dim + j]).subtract(exact).abs().doubleValue();
          assertThat(err).as("dim %d (%d,%d)", dim, i, j).isLessThanOrEqualTo(bound);
        }
      }
    }
  }

  @Test
  void bitIdenticalWhateverTheBatching() {
    SplittableRandom rnd = new SplittableRandom(11);
    int dim = 31;
    int rows = 257;
    float[] k = keys(rnd, rows, dim, 5);
    SecondMomentAccumulator whole = new SecondMomentAccumulator(dim);
    whole.accumulate(k, rows, dim);
    SecondMomentAccumulator batched = new SecondMomentAccumulator(dim);
    int t = 0;
    for (int b : new int[] {1, 0, 7, 100, 149}) {
      batched.accumulate(Arrays.copyOfRange(k, t * dim, (t + b) * dim), b, dim);
      t += b;
    }
    assertThat(t).isEqualTo(rows);
    assertThat(batched.count()).isEqualTo(rows);
    assertThat(batched.result(Optional.empty())).isEqualTo(whole.result(Optional.empty()));
  }

  @Test
  void resultIsExactlySymmetricAndMomentIsSumOverCount() {
    SecondMomentAccumulator acc = new SecondMomentAccumulator(3);
    acc.accumulate(new float[] {1, 2, 3, -1, 0.5f, 4}, 2, 3);
    SecondMoment m = acc.result(Optional.empty());
    // hand-computed: k1 k1ᵀ + k2 k2ᵀ
    assertThat(m.sum()).containsExactly(2, 1.5, -1, 1.5, 4.25, 8, -1, 8, 25);
    assertThat(m.moment()).containsExactly(1, 0.75, -0.5, 0.75, 2.125, 4, -0.5, 4, 12.5);
    assertThat(m.count()).isEqualTo(2);
  }

  /**
   * Against numpy's float64 Kᵀ K of the same float32 keys (BLAS order), within both sums' bounds.
   */
  @Test
  void agreesWithNumpy() throws IOException {
    NpyArray k = NpyArray.fromNpy("keys", Files.readAllBytes(Fixtures.stats("numpy-keys.npy")));
    int rows = (int) k.shape()[0];
    int dim = (int) k.shape()[1];
    float[] keys = k.floats();
    SecondMomentAccumulator acc = new SecondMomentAccumulator(dim);
    acc.accumulate(keys, rows, dim);
    double[] ours = acc.result(Optional.empty()).sum();
    double[] numpy =
        NpyArray.fromNpy("f64", Files.readAllBytes(Fixtures.stats("numpy-mom2-f64.npy"))).doubles();
    for (int i = 0; i < dim; i++) {
      for (int j = 0; j < dim; j++) {
        double abs = 0;
        for (int t = 0; t < rows; t++) {
          abs += Math.abs((double) keys[t * dim + i] * keys[t * dim + j]);
        }
        double bound = 2 * (rows - 1) * 0x1p-53 * abs;
        assertThat(Math.abs(ours[i * dim + j] - numpy[i * dim + j])).isLessThanOrEqualTo(bound);
      }
    }
  }

  @Test
  void misuseIsRejected() {
    SecondMomentAccumulator acc = new SecondMomentAccumulator(4);
    assertThatThrownBy(() -> acc.accumulate(new float[8], 2, 3))
        .hasMessageContaining("dimension 3")
        .hasMessageContaining("4×4");
    assertThatThrownBy(() -> acc.accumulate(new float[7], 2, 4))
        .hasMessageContaining("need 8 floats, the array has 7");
    assertThatThrownBy(() -> acc.accumulate(new float[8], -1, 4))
        .hasMessageContaining("rows must be >= 0");
    assertThatThrownBy(() -> new SecondMomentAccumulator(0)).hasMessageContaining("positive");
    assertThatThrownBy(() -> acc.result(Optional.empty()).moment()).hasMessageContaining("no keys");
  }
}
