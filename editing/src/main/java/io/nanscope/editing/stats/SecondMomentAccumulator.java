package io.nanscope.editing.stats;

import java.util.Optional;

/**
 * Accumulates the uncentred second moment of keys, S = Σ_t k_t k_tᵀ and the count n, so that C =
 * E[k kᵀ] = S / n (ROME's {@code SecondMoment}: {@code mom2 += aᵀa; count += rows}).
 *
 * <p>Numerics: each product k_i·k_j of two floats is exact in double (24 + 24 ≤ 53 significand
 * bits), so the only rounding is the FP64 addition into S[i][j]. Rows are added in input order, one
 * element at a time, so S[i][j] is the same sequential sum however the rows are split into batches:
 * results are bit-identical across batchings and runs. Error of one element after n rows is at most
 * (n − 1)·2⁻⁵³·Σ_t |k_ti k_tj| (sequential summation bound). Only the upper triangle is accumulated
 * and mirrored on {@link #result}, so C is exactly symmetric.
 *
 * <p>{@link #accumulate} is the reference path (O(rows·dim²/2) scalar adds). {@link #addGram} is
 * the fast path {@link KeyStatistics} takes: the batch's Gram matrix KᵀK comes from the engine's
 * FP32 GEMM ({@code MatMul.gram}), and only the sum across batches is FP64. Its extra error per
 * batch of T rows is the FP32 reduction's, at most about T·2⁻²⁴·Σ_t |k_ti k_tj| (tested against
 * this reference).
 */
public final class SecondMomentAccumulator {

  private final int dim; // C: (dim, dim)
  private final double[] upper; // S, row-major (dim, dim); only j >= i is written
  private long count;

  public SecondMomentAccumulator(int dim) {
    if (dim <= 0) {
      throw new IllegalArgumentException("key dimension must be positive, got " + dim);
    }
    this.dim = dim;
    this.upper = new double[Math.toIntExact(Math.multiplyExact((long) dim, dim))];
  }

  public int dim() {
    return dim;
  }

  /** Number of keys (rows) accumulated so far. */
  public long count() {
    return count;
  }

  /**
   * Adds {@code rows} keys.
   *
   * @param keys (rows, dim) row-major; only the first rows·dim values are read
   * @param rows number of keys in this batch (0 is allowed and changes nothing)
   * @param dim the key dimension; must equal this accumulator's
   */
  public void accumulate(float[] keys, int rows, int dim) {
    if (dim != this.dim) {
      throw new IllegalArgumentException(
          "keys have dimension "
              + dim
              + " but this accumulator holds "
              + this.dim
              + "×"
              + this.dim);
    }
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    long needed = Math.multiplyExact((long) rows, dim);
    if (needed > keys.length) {
      throw new IllegalArgumentException(
          rows
              + " rows of dimension "
              + dim
              + " need "
              + needed
              + " floats, the array has "
              + keys.length);
    }
    for (int t = 0; t < rows; t++) {
      int row = t * dim;
      for (int i = 0; i < dim; i++) {
        double ki = keys[row + i];
        int out = i * dim;
        for (int j = i; j < dim; j++) {
          upper[out + j] += ki * keys[row + j]; // exact product, one rounding in the add
        }
      }
    }
    count += rows;
  }

  /**
   * Adds a batch's precomputed Gram matrix G = KᵀK (e.g. from the GEMM kernel) for {@code rows}
   * keys: S[i][j] += G[i][j] in FP64 for j ≥ i.
   *
   * @param gram (dim, dim) row-major; only the upper triangle is read
   */
  public void addGram(float[] gram, long rows) {
    if (gram.length != upper.length) {
      throw new IllegalArgumentException(
          "a Gram matrix of "
              + gram.length
              + " values does not fit a "
              + dim
              + "×"
              + dim
              + " accumulator");
    }
    if (rows < 0) {
      throw new IllegalArgumentException("rows must be >= 0, got " + rows);
    }
    for (int i = 0; i < dim; i++) {
      int out = i * dim;
      for (int j = i; j < dim; j++) {
        upper[out + j] += gram[out + j];
      }
    }
    count += rows;
  }

  /** A snapshot: S (full, symmetric) and n, with the given provenance. */
  public SecondMoment result(Optional<SecondMomentProvenance> provenance) {
    double[] full = new double[upper.length];
    for (int i = 0; i < dim; i++) {
      for (int j = i; j < dim; j++) {
        full[i * dim + j] = upper[i * dim + j];
        full[j * dim + i] = upper[i * dim + j];
      }
    }
    return new SecondMoment(dim, count, full, provenance);
  }
}
