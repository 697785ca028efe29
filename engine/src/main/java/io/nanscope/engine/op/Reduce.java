package io.nanscope.engine.op;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.Kernels;

/**
 * Sequential dot products and sums over strided double arrays with the accumulator held in a chosen
 * format: each product and each partial sum rounded to it, index 0 first. These are the short
 * reductions inside ops (a row of RMSNorm, an attention score over D, a softmax row) and the FP64 /
 * 16-bit-accumulator GEMMs that {@code engine.simd.Kernels} does not offer (Kernels accumulates in
 * FP32 only); the big FP32-accumulated GEMMs go through Kernels.
 */
final class Reduce {

  private Reduce() {}

  /** {@code Σ_i a[ao + i·as] · b[bo + i·bs]}, i = 0 … n−1, accumulated in {@code acc}. */
  static double dot(
      FloatFormat acc, double[] a, int ao, int as, double[] b, int bo, int bs, int n) {
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
        s +=
            (float) a[ao + i * as] * (float) b[bo + i * bs]; // Java float: product then sum, no FMA
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

  /**
   * One step of n running sums at once: {@code y[yo + c] += a·x[xo + c]}, product and sum rounded
   * to {@code acc}. Calling it for j = 0, 1, … gives each y[c] the same sequential order as {@link
   * #dot} over j, with contiguous memory access.
   */
  static void axpy(FloatFormat acc, double[] y, int yo, double a, double[] x, int xo, int n) {
    if (acc == FloatFormat.FP64) {
      for (int c = 0; c < n; c++) {
        y[yo + c] += a * x[xo + c];
      }
    } else if (acc == FloatFormat.FP32) {
      float af = (float) a;
      for (int c = 0; c < n; c++) {
        y[yo + c] = (float) y[yo + c] + af * (float) x[xo + c];
      }
    } else {
      for (int c = 0; c < n; c++) {
        y[yo + c] = Precision.round(acc, y[yo + c] + Precision.round(acc, a * x[xo + c]));
      }
    }
  }

  /**
   * FP32 copies of {@code a} for {@link #dot(FloatFormat, double[], float[], int, double[],
   * float[], int, int)}, or null unless {@code acc} is FP32.
   */
  static float[] floatsFor(FloatFormat acc, double[] a) {
    if (acc != FloatFormat.FP32) {
      return null;
    }
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = (float) a[i];
    }
    return f;
  }

  /**
   * A contiguous dot product: through {@link Kernels#dot} (FP32 accumulation, the kernels' fixed
   * order) when FP32 copies are given, else {@link #dot(FloatFormat, double[], int, int, double[],
   * int, int, int)}.
   */
  static double dot(
      FloatFormat acc, double[] a, float[] af, int ao, double[] b, float[] bf, int bo, int n) {
    return af != null && bf != null
        ? Kernels.dot(af, ao, bf, bo, n)
        : dot(acc, a, ao, 1, b, bo, 1, n);
  }
}
