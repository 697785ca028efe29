package io.nanscope.engine.op;

import io.nanscope.engine.format.FloatFormat;

/**
 * Sequential dot products and sums over strided double arrays with the accumulator held in a
 * chosen format: each product and each partial sum rounded to it, index 0 first. These are the
 * short reductions inside ops (a row of RMSNorm, an attention score over D, a softmax row) and the
 * FP64 / 16-bit-accumulator GEMMs that {@code engine.simd.Kernels} does not offer (Kernels
 * accumulates in FP32 only); the big FP32-accumulated GEMMs go through Kernels.
 */
final class Reduce {

  private Reduce() {}

  /** {@code Σ_i a[ao + i·as] · b[bo + i·bs]}, i = 0 … n−1, accumulated in {@code acc}. */
  static double dot(FloatFormat acc, double[] a, int ao, int as, double[] b, int bo, int bs, int n) {
    if (acc == FloatFormat.FP64) {
      double s = 0;
      for (int i = 0; i < n; i++) {
        s += a[ao + i * as] * b[bo + i * bs];
      }
      return s;
    }
    if (acc == FloatFormat.FP32) {
      float s = 0f;
      for (int i = 0; i < n; i++) {
        s += (float) a[ao + i * as] * (float) b[bo + i * bs]; // Java float: product then sum, no FMA
      }
      return s;
    }
    double s = 0;
    for (int i = 0; i < n; i++) {
      s = Precision.round(acc, s + Precision.round(acc, a[ao + i * as] * b[bo + i * bs]));
    }
    return s;
  }

  /** {@code Σ_i a[ao + i·as]}, i = 0 … n−1, accumulated in {@code acc}. */
  static double sum(FloatFormat acc, double[] a, int ao, int as, int n) {
    if (acc == FloatFormat.FP64) {
      double s = 0;
      for (int i = 0; i < n; i++) {
        s += a[ao + i * as];
      }
      return s;
    }
    if (acc == FloatFormat.FP32) {
      float s = 0f;
      for (int i = 0; i < n; i++) {
        s += (float) a[ao + i * as];
      }
      return s;
    }
    double s = 0;
    for (int i = 0; i < n; i++) {
      s = Precision.round(acc, s + Precision.round(acc, a[ao + i * as]));
    }
    return s;
  }
}
