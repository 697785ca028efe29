package io.nanscope.engine.linalg;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;

/**
 * Solves {@code A·X = B} for a square, non-singular, not necessarily symmetric A in FP64 by LU
 * factorisation with partial pivoting (EJML), as {@code torch.linalg.solve} does. AlphaEdit's
 * system {@code (P·(K Kᵀ + K_p K_pᵀ) + αI)·X = P·K·Rᵀ} is of this kind: P times a symmetric matrix
 * is not symmetric, so Cholesky does not apply.
 */
public final class LuSolve {

  private LuSolve() {}

  /** A: (n, n), B: (n, k), both row-major; returns X: (n, k). */
  public static double[][] solve(double[][] a, double[][] b) {
    int n = a.length;
    for (int i = 0; i < n; i++) {
      if (a[i].length != n) {
        throw new IllegalArgumentException(
            "A must be square: row " + i + " has " + a[i].length + " columns, expected " + n);
      }
    }
    if (b.length != n) {
      throw new IllegalArgumentException(
          "A is (" + n + ", " + n + ") but B has " + b.length + " rows: expected " + n);
    }
    int k = n == 0 ? 0 : b[0].length;
    LinearSolverDense<DMatrixRMaj> lu = LinearSolverFactory_DDRM.lu(n);
    if (!lu.setA(new DMatrixRMaj(a))) {
      throw new IllegalArgumentException(
          "A (" + n + " x " + n + ") is singular: the LU factorisation failed");
    }
    DMatrixRMaj x = new DMatrixRMaj(n, k);
    lu.solve(new DMatrixRMaj(b), x);
    double[][] out = new double[n][k];
    for (int i = 0; i < n; i++) {
      System.arraycopy(x.data, i * k, out[i], 0, k);
      for (double v : out[i]) {
        if (!Double.isFinite(v)) {
          throw new IllegalArgumentException(
              "the solution holds " + v + ": A holds NaN/inf or is numerically singular");
        }
      }
    }
    return out;
  }
}
