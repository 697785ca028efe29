package io.nanscope.editing.stats;

import java.util.Arrays;
import java.util.Optional;

/**
 * The key second moment as ROME stores it: the sum S = Σ k kᵀ (not the mean) and the count n; C =
 * E[k kᵀ] = S / n ({@code SecondMoment.moment()}).
 *
 * @param dim key dimension (down_proj input width, e.g. 172 for stories260K, 11008 for Llama-2-7B)
 * @param count n, number of keys (tokens) summed
 * @param sum S: (dim, dim) row-major
 * @param provenance where S came from, when known (EasyEdit's files carry none)
 */
public record SecondMoment(
    int dim, long count, double[] sum, Optional<SecondMomentProvenance> provenance) {

  public SecondMoment {
    if (sum.length != Math.multiplyExact((long) dim, dim)) {
      throw new IllegalArgumentException(
          "sum has " + sum.length + " values, expected dim² = " + (long) dim * dim);
    }
    if (count < 0) {
      throw new IllegalArgumentException("count must be >= 0, got " + count);
    }
    sum = sum.clone();
  }

  @Override
  public double[] sum() {
    return sum.clone();
  }

  /** C = S / n, (dim, dim) row-major. */
  public double[] moment() {
    if (count == 0) {
      throw new IllegalStateException("no keys were accumulated: C = S/0 is undefined");
    }
    double[] c = new double[sum.length];
    for (int i = 0; i < c.length; i++) {
      c[i] = sum[i] / count;
    }
    return c;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SecondMoment m
        && dim == m.dim
        && count == m.count
        && Arrays.equals(sum, m.sum)
        && provenance.equals(m.provenance);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(sum) * 31 + Long.hashCode(count);
  }

  @Override
  public String toString() {
    return "SecondMoment[dim=" + dim + ", count=" + count + ", provenance=" + provenance + "]";
  }
}
