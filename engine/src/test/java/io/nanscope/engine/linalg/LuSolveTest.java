package io.nanscope.engine.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LU solve checked by its residual, computed here: ‖A·X − B‖∞ ≤ 1e-11·(1 + ‖B‖∞) on random
 * non-symmetric A = M + n·I (well conditioned; LU with partial pivoting is backward stable, so the
 * residual is O(n·2⁻⁵³·‖A‖·‖X‖) ≈ 1e-13 at n = 172). A wrong solution is off by O(‖B‖).
 */
class LuSolveTest {

  @Test
  void twoByTwoByHand() {
    // [[1, 2], [3, 4]] X = [[5], [11]] → X = [[1], [2]]
    double[][] x = LuSolve.solve(new double[][] {{1, 2}, {3, 4}}, new double[][] {{5}, {11}});
    assertThat(x[0][0]).isCloseTo(1, within(1e-14));
    assertThat(x[1][0]).isCloseTo(2, within(1e-14));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 33, 172})
  void randomResidualIsAtRoundingLevel(int n) {
    SplittableRandom rnd = new SplittableRandom(n + 100);
    double[][] a = new double[n][n];
    double[][] b = new double[n][3];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        a[i][j] = rnd.nextDouble(-1, 1) + (i == j ? n : 0);
      }
      for (int j = 0; j < 3; j++) {
        b[i][j] = rnd.nextDouble(-10, 10);
      }
    }
    double[][] x = LuSolve.solve(a, b);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < 3; j++) {
        double s = 0;
        for (int k = 0; k < n; k++) {
          s += a[i][k] * x[k][j];
        }
        assertThat(s).as("(A X)[%d][%d]", i, j).isCloseTo(b[i][j], within(1e-11 * 11));
      }
    }
  }

  @Test
  void refusesASingularMatrix() {
    assertThatThrownBy(
            () -> LuSolve.solve(new double[][] {{1, 2}, {2, 4}}, new double[][] {{1}, {1}}))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
