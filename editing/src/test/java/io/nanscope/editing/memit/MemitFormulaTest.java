package io.nanscope.editing.memit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * MEMIT's layer update against its definition, with FP64 matrix products written here (not the
 * class's): ΔW = R_l Kᵀ (λC + K Kᵀ)⁻¹ is the unique solution of the normal equations {@code ΔW (λC
 * + K Kᵀ) = R_l Kᵀ}, with R_l = R / divisor.
 *
 * <p>Budget: the Cholesky solve is backward stable, so the residual of the normal equations is
 * O(F·2⁻⁵³·‖λC + KKᵀ‖·‖ΔW‖); with the well-conditioned C used here (eigenvalues ≥ 0.05·λ) the bound
 * 1e-10·(1 + max|R_l Kᵀ|) leaves a factor ≥ 100, while a transposed K, a missing λ or a wrong
 * divisor is off by O(1).
 */
class MemitFormulaTest {

  @ParameterizedTest
  @CsvSource({"7, 5, 1, 15000, 1", "33, 16, 3, 234, 2", "172, 64, 15, 234, 5", "31, 8, 40, 1, 3"})
  void deltaSatisfiesTheNormalEquations(int f, int c, int n, double lambda, int divisor) {
    SplittableRandom rnd = new SplittableRandom(f * 31L + n);
    double[] cov = randomSecondMoment(rnd, f);
    double[][] k = random(rnd, f, n, 2);
    double[][] r = random(rnd, c, n, 5);
    Memit.Update u = Memit.update(cov, k, r, lambda, divisor);
    // left = ΔW (λC + K Kᵀ): (C, F); right = (R / divisor) Kᵀ: (C, F)
    double max = 0;
    double[][] right = new double[c][f];
    for (int a = 0; a < c; a++) {
      for (int q = 0; q < f; q++) {
        double s = 0;
        for (int j = 0; j < n; j++) {
          s += (r[a][j] / divisor) * k[q][j];
        }
        right[a][q] = s;
        max = Math.max(max, Math.abs(s));
      }
    }
    for (int a = 0; a < c; a++) {
      for (int q = 0; q < f; q++) {
        double s = 0;
        for (int p = 0; p < f; p++) {
          double kk = 0;
          for (int j = 0; j < n; j++) {
            kk += k[p][j] * k[q][j];
          }
          s += u.delta()[a * f + p] * (lambda * cov[p * f + q] + kk);
        }
        assertThat(s)
            .as("(ΔW (λC + KKᵀ))[%d][%d]", a, q)
            .isCloseTo(right[a][q], within(1e-10 * (1 + max)));
      }
    }
    for (int a = 0; a < c; a++) {
      for (int j = 0; j < n; j++) {
        assertThat(u.spread()[a][j]).isEqualTo(r[a][j] / divisor);
      }
    }
  }

  @ParameterizedTest
  @CsvSource({"fp32", "fp16", "bf16"})
  void applyRoundsTheDeltaThenTheSum(String name) {
    // apply_memit_to_model: w += upd.to(w.dtype) → round(W + round(ΔW)); execute_memit's temporary
    // copy rounds W + ΔW once. W = 1, ΔW = 2⁻ᵖ + 2⁻⁽²ᵖ⁺²⁾ (p = significand bits): half an ulp of 1
    // plus a bit that survives in the FP64 sum but not in round(ΔW) — once rounds up, twice ties to
    // 1.
    FloatFormat fmt = FloatFormat.parse(name);
    int p = fmt.info().precisionBits();
    Tensor w = Tensor.ofDoubles(fmt, Shape.of(1, 1), 1.0);
    double d = Math.scalb(1.0, -p) + Math.scalb(1.0, -(2 * p + 2));
    double once =
        io.nanscope.editing.keys.DenseUpdate.plus(w, new double[] {d}, false).getDouble(0);
    double twice =
        io.nanscope.editing.keys.DenseUpdate.plus(w, new double[] {d}, true).getDouble(0);
    assertThat(once).isEqualTo(1.0 + Math.scalb(1.0, 1 - p));
    assertThat(twice).isEqualTo(1.0);
  }

  /** C = A Aᵀ / m + 0.05 I: (F, F) row-major, symmetric positive definite. */
  static double[] randomSecondMoment(SplittableRandom rnd, int f) {
    int m = 2 * f;
    double[][] a = random(rnd, f, m, 1);
    double[] c = new double[f * f];
    for (int p = 0; p < f; p++) {
      for (int q = 0; q < f; q++) {
        double s = 0;
        for (int j = 0; j < m; j++) {
          s += a[p][j] * a[q][j];
        }
        c[p * f + q] = s / m + (p == q ? 0.05 : 0);
      }
    }
    return c;
  }

  static double[][] random(SplittableRandom rnd, int rows, int cols, double scale) {
    double[][] x = new double[rows][cols];
    for (double[] row : x) {
      for (int j = 0; j < cols; j++) {
        row[j] = rnd.nextDouble(-scale, scale);
      }
    }
    return x;
  }
}
