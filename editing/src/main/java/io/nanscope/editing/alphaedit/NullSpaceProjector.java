package io.nanscope.editing.alphaedit;

import io.nanscope.engine.linalg.SymmetricEigen;

/**
 * AlphaEdit's null-space projector (Fang et al. 2025, §3.2 eq. 5–6; EasyEdit
 * AlphaEdit_main.get_project): with C = E[k kᵀ] = U Λ Uᵀ, keep the eigenvectors U₀ whose eigenvalue
 * is below {@code nullspace_threshold} and form {@code P = U₀ U₀ᵀ}. For any key k of the preserved
 * set, k lies (up to the threshold) in the span of the other eigenvectors, so P k ≈ 0 and an update
 * of the form {@code ΔW = X P} leaves W k unchanged. EasyEdit takes {@code torch.linalg.svd(cov)};
 * for the symmetric positive semi-definite C the singular values are the |eigenvalues| and U the
 * same eigenvectors, so the eigendecomposition (FP64) gives the same P; |λ| is compared as S is.
 *
 * @param p P: (F, F) row-major, symmetric, P² = P
 * @param nullity the number of eigenvectors kept (the rank of P)
 * @param eigenvalues λ of C in descending order
 */
public record NullSpaceProjector(double[][] p, int nullity, double[] eigenvalues) {

  /** P from C: (F, F) row-major. */
  public static NullSpaceProjector of(double[] c, int f, double threshold) {
    if (c.length != (long) f * f) {
      throw new IllegalArgumentException(
          "the key second moment has " + c.length + " entries, expected " + f + "x" + f);
    }
    double[][] m = new double[f][f];
    for (int i = 0; i < f; i++) {
      System.arraycopy(c, i * f, m[i], 0, f);
    }
    SymmetricEigen e = SymmetricEigen.of(m);
    double[][] u = e.vectors();
    double[][] p = new double[f][f];
    int kept = 0;
    for (int k = 0; k < f; k++) {
      if (!(Math.abs(e.values()[k]) < threshold)) {
        continue;
      }
      kept++;
      for (int i = 0; i < f; i++) {
        double ui = u[i][k];
        for (int j = 0; j < f; j++) {
          p[i][j] += ui * u[j][k];
        }
      }
    }
    return new NullSpaceProjector(p, kept, e.values());
  }
}
