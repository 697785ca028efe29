package io.nanscope.editing.alphaedit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * AlphaEdit's projector and update against their definitions, with FP64 code written here: C is
 * built as U diag(λ) Uᵀ from a random orthonormal U (Gram–Schmidt here) with a chosen number of
 * eigenvalues below the threshold, so the null space is known exactly.
 *
 * <p>Budgets: the eigensolver and the LU solve are backward stable; P's entries are sums of F
 * products of unit-vector entries, so P² − P and P·u (u a kept-out eigenvector) are O(F·2⁻⁵³) ≈
 * 1e-14 — checked at 1e-10. The preserved keys' outputs ΔW·k for k in the span of the large
 * eigenvectors are O(2⁻⁵³·‖ΔW‖·‖k‖·cond) — checked at 1e-9·(1 + ‖ΔW‖_max·‖k‖) — while the same ΔW
 * moves the edited keys by O(‖R‖) ≈ 1.
 */
class AlphaEditFormulaTest {

  @ParameterizedTest
  @CsvSource({"7, 3, 4, 2", "33, 10, 16, 5", "172, 40, 64, 15"})
  void updateLeavesThePreservedKeysUnchanged(int f, int nullity, int c, int n) {
    SplittableRandom rnd = new SplittableRandom(f + 1000L * n);
    double[][] u = orthonormal(rnd, f);
    double threshold = 2e-2;
    double[] lambda = new double[f];
    for (int i = 0; i < f; i++) {
      // the last `nullity` eigenvalues below the threshold, the others well above it
      lambda[i] = i < f - nullity ? rnd.nextDouble(0.1, 5) : rnd.nextDouble(0, threshold / 2);
    }
    double[] cov = new double[f * f];
    for (int a = 0; a < f; a++) {
      for (int b = 0; b < f; b++) {
        double s = 0;
        for (int i = 0; i < f; i++) {
          s += u[a][i] * lambda[i] * u[b][i];
        }
        cov[a * f + b] = s;
      }
    }
    NullSpaceProjector proj = NullSpaceProjector.of(symmetrised(cov, f), f, threshold);
    assertThat(proj.nullity()).isEqualTo(nullity);
    double[][] p = proj.p();
    double[][] pp = AlphaEdit.multiply(p, p);
    for (int a = 0; a < f; a++) {
      for (int b = 0; b < f; b++) {
        assertThat(pp[a][b]).as("P²[%d][%d]", a, b).isCloseTo(p[a][b], within(1e-10));
        assertThat(p[a][b]).as("P symmetric").isCloseTo(p[b][a], within(1e-12));
      }
    }
    // the edit: keys K, targets R, earlier edits' keys in G = K_p K_pᵀ
    double[][] k = random(rnd, f, n, 1);
    double[][] r = random(rnd, c, n, 1);
    double[][] kp = random(rnd, f, 3, 1);
    PreservedKeys earlier = new PreservedKeys();
    earlier.add(4, kp);
    double[][] g = earlier.gram(4, f);
    double alpha = 1;
    double[][] x = AlphaEdit.solve(p, k, g, r, alpha); // (F, C); ΔW = Xᵀ
    // 1) X solves (P (K Kᵀ + G) + α I) X = P K Rᵀ
    double[][] m = new double[f][f];
    for (int a = 0; a < f; a++) {
      for (int b = 0; b < f; b++) {
        double s = g[a][b];
        for (int j = 0; j < n; j++) {
          s += k[a][j] * k[b][j];
        }
        m[a][b] = s;
      }
    }
    for (int a = 0; a < f; a++) {
      for (int col = 0; col < c; col++) {
        double lhs = alpha * x[a][col];
        double rhs = 0;
        for (int b = 0; b < f; b++) {
          double pm = 0;
          for (int e = 0; e < f; e++) {
            pm += p[a][e] * m[e][b];
          }
          lhs += pm * x[b][col];
          double kr = 0;
          for (int j = 0; j < n; j++) {
            kr += k[b][j] * r[col][j];
          }
          rhs += p[a][b] * kr;
        }
        assertThat(lhs)
            .as("row %d col %d of the system", a, col)
            .isCloseTo(rhs, within(1e-9 * (1 + Math.abs(rhs))));
      }
    }
    // 2) ΔW k = 0 for every preserved direction (the eigenvectors above the threshold) …
    double maxX = 0;
    for (double[] row : x) {
      for (double v : row) {
        maxX = Math.max(maxX, Math.abs(v));
      }
    }
    for (int i = 0; i < f - nullity; i++) {
      for (int col = 0; col < c; col++) {
        double out = 0;
        for (int a = 0; a < f; a++) {
          out += x[a][col] * u[a][i];
        }
        assertThat(out).as("(ΔW u_%d)[%d]", i, col).isCloseTo(0, within(1e-9 * (1 + maxX)));
      }
    }
    // … while the edited keys' outputs do move
    double moved = 0;
    for (int col = 0; col < c; col++) {
      double out = 0;
      for (int a = 0; a < f; a++) {
        out += x[a][col] * k[a][0];
      }
      moved = Math.max(moved, Math.abs(out));
    }
    assertThat(moved).isGreaterThan(1e-3);
  }

  @Test
  void preservedKeysAccumulateTheirGramMatrices() {
    SplittableRandom rnd = new SplittableRandom(9);
    double[][] k1 = random(rnd, 5, 2, 1);
    double[][] k2 = random(rnd, 5, 3, 1);
    PreservedKeys kept = new PreservedKeys();
    assertThat(kept.gram(1, 5)[2][3]).isZero();
    kept.add(1, k1);
    kept.add(1, k2);
    double[][] g = kept.gram(1, 5);
    for (int a = 0; a < 5; a++) {
      for (int b = 0; b < 5; b++) {
        double s = k1[a][0] * k1[b][0] + k1[a][1] * k1[b][1];
        for (int j = 0; j < 3; j++) {
          s += k2[a][j] * k2[b][j];
        }
        assertThat(g[a][b]).isCloseTo(s, within(1e-14));
      }
    }
    assertThat(kept.gram(2, 5)[0][0]).as("another layer").isZero();
    assertThat(kept.layers()).isEqualTo(1);
  }

  static double[] symmetrised(double[] c, int f) {
    double[] out = new double[c.length];
    for (int a = 0; a < f; a++) {
      for (int b = 0; b < f; b++) {
        out[a * f + b] = (c[a * f + b] + c[b * f + a]) / 2;
      }
    }
    return out;
  }

  /** A random orthonormal (F, F) matrix, columns by modified Gram–Schmidt. */
  static double[][] orthonormal(SplittableRandom rnd, int f) {
    double[][] q = random(rnd, f, f, 1);
    for (int j = 0; j < f; j++) {
      for (int i = 0; i < j; i++) {
        double d = 0;
        for (int a = 0; a < f; a++) {
          d += q[a][i] * q[a][j];
        }
        for (int a = 0; a < f; a++) {
          q[a][j] -= d * q[a][i];
        }
      }
      double norm = 0;
      for (int a = 0; a < f; a++) {
        norm += q[a][j] * q[a][j];
      }
      norm = Math.sqrt(norm);
      for (int a = 0; a < f; a++) {
        q[a][j] /= norm;
      }
    }
    return q;
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
