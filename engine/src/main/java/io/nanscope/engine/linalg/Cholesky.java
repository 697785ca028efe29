package io.nanscope.engine.linalg;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;

/**
 * Solves {@code C·x = b} for a symmetric positive definite C in FP64 by Cholesky factorisation
 * {@code C = L·Lᵀ} and two triangular solves (EJML). Never forms {@code C⁻¹}: a solve is about six
 * times cheaper and more accurate than an explicit inverse. ROME's update direction {@code C⁻¹k*}
 * (Meng et al. 2022, eq. 2) and MEMIT's {@code (C + K·Kᵀ)⁻¹R} are such solves.
 *
 * <p>C: (n, n), row-major {@code double[n][n]}, must be symmetric (checked to a relative 1e-9 of
 * max|C|) and positive definite (the factorisation fails otherwise).
 */
public final class Cholesky {

  private Cholesky() {}

  /** {@code x = C⁻¹·b}. b: (n). */
  public static double[] solveSpd(double[][] c, double[] b) {
    int n = checkSquareSymmetric(c);
    if (b.length != n) {
      throw new IllegalArgumentException(
          "C is (" + n + ", " + n + ") but b has " + b.length + " elements: expected " + n);
    }
    DMatrixRMaj x = solve(c, n, new DMatrixRMaj(n, 1, true, b));
    return x.data.clone();
  }

  /** {@code X = C⁻¹·B} for k right-hand sides at once. B: (n, k) row-major; returns (n, k). */
  public static double[][] solveSpd(double[][] c, double[][] b) {
    int n = checkSquareSymmetric(c);
    if (b.length != n) {
      throw new IllegalArgumentException(
          "C is (" + n + ", " + n + ") but B has " + b.length + " rows: expected " + n);
    }
    int k = n == 0 ? 0 : b[0].length;
    for (int i = 0; i < n; i++) {
      if (b[i].length != k) {
        throw new IllegalArgumentException(
            "B row " + i + " has " + b[i].length + " columns, row 0 has " + k);
      }
    }
    DMatrixRMaj x = solve(c, n, new DMatrixRMaj(b));
    double[][] out = new double[n][k];
    for (int i = 0; i < n; i++) {
      System.arraycopy(x.data, i * k, out[i], 0, k);
    }
    return out;
  }

  private static DMatrixRMaj solve(double[][] c, int n, DMatrixRMaj rhs) {
    LinearSolverDense<DMatrixRMaj> chol = LinearSolverFactory_DDRM.chol(n);
    DMatrixRMaj a = new DMatrixRMaj(c); // a copy: the factorisation overwrites it
    if (!chol.setA(a)) {
      throw new IllegalArgumentException(
          "C ("
              + n
              + " x "
              + n
              + ") is not positive definite: the Cholesky factorisation met a"
              + " non-positive pivot. A second-moment matrix needs more samples than dimensions, or"
              + " a ridge term (C + lambda*I)");
    }
    DMatrixRMaj x = new DMatrixRMaj(n, rhs.numCols);
    chol.solve(rhs, x);
    for (double v : x.data) {
      if (!Double.isFinite(v)) {
        throw new IllegalArgumentException(
            "the solution holds " + v + ": C holds NaN/inf or is too ill-conditioned for FP64");
      }
    }
    return x;
  }

  static int checkSquareSymmetric(double[][] c) {
    int n = c.length;
    double max = 0;
    for (int i = 0; i < n; i++) {
      if (c[i].length != n) {
        throw new IllegalArgumentException(
            "C must be square: row " + i + " has " + c[i].length + " columns, expected " + n);
      }
      for (double v : c[i]) {
        if (!Double.isFinite(v)) {
          throw new IllegalArgumentException(
              "C holds " + v + " at row " + i + ": it must be finite");
        }
        max = Math.max(max, Math.abs(v));
      }
    }
    double tol = 1e-9 * max;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < i; j++) {
        if (Math.abs(c[i][j] - c[j][i]) > tol) {
          throw new IllegalArgumentException(
              "C is not symmetric: C["
                  + i
                  + "]["
                  + j
                  + "] = "
                  + c[i][j]
                  + " but C["
                  + j
                  + "]["
                  + i
                  + "] = "
                  + c[j][i]
                  + " (symmetrise with (C + Cᵀ)/2 if this is rounding)");
        }
      }
    }
    return n;
  }
}
