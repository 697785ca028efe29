package io.nanscope.engine.linalg;

import java.util.Arrays;
import java.util.Comparator;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * The eigendecomposition {@code C = V·diag(λ)·Vᵀ} of a real symmetric matrix in FP64 (EJML's
 * symmetric QR algorithm after a tridiagonal reduction): real eigenvalues and orthonormal
 * eigenvectors. AlphaEdit's null-space projector (Fang et al. 2025, eq. 5–6) is built from the
 * eigenvectors of the key second moment whose eigenvalues are below a threshold.
 *
 * <p>For a symmetric positive semi-definite C this is its SVD ({@code U = V}, singular values =
 * |λ|), which is what AlphaEdit's code calls ({@code torch.linalg.svd(cov)}).
 *
 * @param values λ: (n), in descending order (as an SVD orders singular values)
 * @param vectors V: (n, n) row-major, column j is the unit eigenvector of {@code values[j]}
 */
public record SymmetricEigen(double[] values, double[][] vectors) {

  /** Decomposes C: (n, n), symmetric (checked to a relative 1e-9 of max|C|) and finite. */
  public static SymmetricEigen of(double[][] c) {
    int n = Cholesky.checkSquareSymmetric(c);
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
    if (!eig.decompose(new DMatrixRMaj(c))) {
      throw new IllegalArgumentException(
          "the symmetric eigendecomposition of a " + n + " x " + n + " matrix did not converge");
    }
    Integer[] order = new Integer[n];
    double[] raw = new double[n];
    for (int j = 0; j < n; j++) {
      order[j] = j;
      raw[j] = eig.getEigenvalue(j).getReal();
    }
    Arrays.sort(order, Comparator.comparingDouble((Integer j) -> raw[j]).reversed());
    double[] values = new double[n];
    double[][] vectors = new double[n][n];
    for (int k = 0; k < n; k++) {
      int j = order[k];
      values[k] = raw[j];
      DMatrixRMaj v = eig.getEigenVector(j);
      for (int i = 0; i < n; i++) {
        vectors[i][k] = v.get(i, 0);
      }
    }
    return new SymmetricEigen(values, vectors);
  }
}
