package io.nanscope.engine.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The eigen adapter against definitions computed here, not by EJML: C·v = λ·v per pair, VᵀV = I,
 * descending order, and a hand-worked 2×2.
 *
 * <p>Budget: a backward-stable symmetric eigensolver gives ‖C·v − λ·v‖ ≤ c·n·2⁻⁵³·‖C‖ and
 * orthogonality to c·n·2⁻⁵³; 1e-12·(1 + max|C|) leaves a factor ≥ 100 at n = 172 (AlphaEdit's key
 * width on the embedded model), while a wrong vector or value is off by O(1).
 */
class SymmetricEigenTest {

  @Test
  void twoByTwoByHand() {
    // [[2, 1], [1, 2]]: eigenvalues 3 and 1 with vectors (1, 1)/√2 and (1, −1)/√2.
    SymmetricEigen e = SymmetricEigen.of(new double[][] {{2, 1}, {1, 2}});
    assertThat(e.values()).containsExactly(new double[] {3, 1}, within(1e-15));
    double s = Math.sqrt(0.5);
    assertThat(Math.abs(e.vectors()[0][0])).isCloseTo(s, within(1e-15));
    assertThat(e.vectors()[0][0] * e.vectors()[1][0]).isCloseTo(0.5, within(1e-15));
    assertThat(e.vectors()[0][1] * e.vectors()[1][1]).isCloseTo(-0.5, within(1e-15));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 31, 33, 172})
  void randomPsdPairsSatisfyTheDefinition(int n) {
    // C = A·Aᵀ with A: (n, n/2 + 1): rank-deficient like a key second moment with few samples.
    SplittableRandom rnd = new SplittableRandom(n);
    int r = n / 2 + 1;
    double[][] a = new double[n][r];
    for (double[] row : a) {
      for (int j = 0; j < r; j++) {
        row[j] = rnd.nextDouble(-1, 1);
      }
    }
    double[][] c = new double[n][n];
    double max = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double sum = 0;
        for (int k = 0; k < r; k++) {
          sum += a[i][k] * a[j][k];
        }
        c[i][j] = sum;
        max = Math.max(max, Math.abs(sum));
      }
    }
    SymmetricEigen e = SymmetricEigen.of(c);
    double tol = 1e-12 * (1 + max);
    for (int k = 0; k < n; k++) {
      if (k > 0) {
        assertThat(e.values()[k]).isLessThanOrEqualTo(e.values()[k - 1]);
      }
      for (int i = 0; i < n; i++) {
        double cv = 0;
        for (int j = 0; j < n; j++) {
          cv += c[i][j] * e.vectors()[j][k];
        }
        assertThat(cv)
            .as("(C v_%d)[%d]", k, i)
            .isCloseTo(e.values()[k] * e.vectors()[i][k], within(tol));
      }
      for (int l = 0; l < n; l++) {
        double dot = 0;
        for (int i = 0; i < n; i++) {
          dot += e.vectors()[i][k] * e.vectors()[i][l];
        }
        assertThat(dot).as("v_%d · v_%d", k, l).isCloseTo(k == l ? 1 : 0, within(1e-12));
      }
    }
    // rank r: the n − r smallest eigenvalues are zero up to rounding
    for (int k = r; k < n; k++) {
      assertThat(Math.abs(e.values()[k])).isLessThan(tol);
    }
  }

  @Test
  void refusesANonSymmetricMatrix() {
    assertThatThrownBy(() -> SymmetricEigen.of(new double[][] {{1, 2}, {0, 1}}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not symmetric");
  }
}
