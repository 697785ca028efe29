package io.nanscope.engine.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CholeskyTest {

  @Test
  void twoByTwoByHand() {
    // [[4, 2], [2, 3]] x = [2, 1]: det 8, inverse (1/8)[[3, -2], [-2, 4]], x = (1/8)[4, 0].
    double[] x = Cholesky.solveSpd(new double[][] {{4, 2}, {2, 3}}, new double[] {2, 1});
    assertThat(x[0]).isCloseTo(0.5, within(1e-15));
    assertThat(x[1]).isCloseTo(0.0, within(1e-15));
  }

  @Test
  void threeByThreeByHandWithTwoRightHandSides() {
    // C = L·Lᵀ with L = [[2,0,0],[1,3,0],[-1,2,1]]: C = [[4,2,-2],[2,10,5],[-2,5,6]].
    // Columns of B chosen as C·[1,0,0] and C·[1,-1,2], so X = [[1,1],[0,-1],[0,2]].
    double[][] c = {{4, 2, -2}, {2, 10, 5}, {-2, 5, 6}};
    double[][] b = {{4, 4 - 2 - 4}, {2, 2 - 10 + 10}, {-2, -2 - 5 + 12}};
    double[][] x = Cholesky.solveSpd(c, b);
    double[][] expected = {{1, 1}, {0, -1}, {0, 2}};
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 2; j++) {
        assertThat(x[i][j]).as("X[%d][%d]", i, j).isCloseTo(expected[i][j], within(1e-13));
      }
    }
  }

  /**
   * Residual check on a random SPD C = A·Aᵀ + n·I (condition number ~ 10): ‖C·x − b‖∞ ≤ 1e-12·‖b‖∞,
   * far above FP64's n·2^−53·cond ≈ 1e-14 and far below any wrong solution.
   */
  @Test
  void randomSpdResidualIsAtRoundingLevel() {
    SplittableRandom rnd = new SplittableRandom(11);
    int n = 33;
    double[][] a = new double[n][n];
    for (double[] row : a) {
      for (int j = 0; j < n; j++) {
        row[j] = rnd.nextGaussian();
      }
    }
    double[][] c = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double s = i == j ? n : 0;
        for (int k = 0; k < n; k++) {
          s += a[i][k] * a[j][k];
        }
        c[i][j] = s;
      }
    }
    double[] b = new double[n];
    double bMax = 0;
    for (int i = 0; i < n; i++) {
      b[i] = rnd.nextGaussian();
      bMax = Math.max(bMax, Math.abs(b[i]));
    }
    double[] x = Cholesky.solveSpd(c, b);
    for (int i = 0; i < n; i++) {
      double r = -b[i];
      for (int j = 0; j < n; j++) {
        r += c[i][j] * x[j];
      }
      assertThat(Math.abs(r)).as("residual row %d", i).isLessThanOrEqualTo(1e-12 * bMax);
    }
  }

  @Test
  void rejectsWhatIsNotSymmetricPositiveDefinite() {
    assertThatThrownBy(
            () -> Cholesky.solveSpd(new double[][] {{1, 2}, {2, 1}}, new double[] {1, 1}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not positive definite");
    assertThatThrownBy(
            () -> Cholesky.solveSpd(new double[][] {{2, 1}, {0, 2}}, new double[] {1, 1}))
        .hasMessageContaining("not symmetric");
    assertThatThrownBy(() -> Cholesky.solveSpd(new double[][] {{2, 0}, {0, 2}}, new double[] {1}))
        .hasMessageContaining("expected 2");
    assertThatThrownBy(() -> Cholesky.solveSpd(new double[][] {{2, 0}, {0}}, new double[] {1, 1}))
        .hasMessageContaining("square");
    assertThatThrownBy(() -> Cholesky.solveSpd(new double[][] {{Double.NaN}}, new double[] {1}))
        .hasMessageContaining("NaN");
  }
}
