package io.nanscope.editing.keys;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The dense-update arithmetic MEMIT and AlphaEdit share (they may not import each other): W + ΔW in
 * W's format, the norms their logs print, and the FP64 matrices they report to the tracer.
 */
public final class DenseUpdate {

  private DenseUpdate() {}

  /** A (rows, cols) tensor of {@code fmt} from an FP64 matrix (for the tracer). */
  public static Tensor matrix(FloatFormat fmt, double[][] x) {
    int rows = x.length;
    int cols = x[0].length;
    double[] flat = new double[rows * cols];
    for (int i = 0; i < rows; i++) {
      System.arraycopy(x[i], 0, flat, i * cols, cols);
    }
    return Tensor.ofDoubles(fmt, Shape.of(rows, cols), flat);
  }

  /**
   * W + ΔW in W's format: {@code roundDelta} rounds ΔW to the format first (apply_memit_to_model's
   * {@code w += upd.to(w.dtype)}), otherwise the FP64 sum is rounded once (execute_memit's copy).
   */
  public static Tensor plus(Tensor w, double[] delta, boolean roundDelta) {
    return roundDelta ? plus(w, delta, w.format()) : plus(w, delta, null);
  }

  /**
   * W + ΔW in W's format with ΔW rounded first to {@code deltaFormat} (the update site's format,
   * {@link UpdateSite}), or not rounded when it is null; the sum is rounded once to W's format.
   */
  public static Tensor plus(Tensor w, double[] delta, FloatFormat deltaFormat) {
    FloatFormat fmt = w.format();
    double[] sum = new double[delta.length];
    for (int i = 0; i < delta.length; i++) {
      double d = deltaFormat != null ? deltaFormat.round(delta[i]) : delta[i];
      sum[i] = w.getDouble(i) + d;
    }
    return Tensor.ofDoubles(fmt, w.shape(), sum);
  }

  /** How many entries of {@code t} are NaN or ±inf. */
  public static long nonFinite(Tensor t) {
    long bad = 0;
    for (long i = 0; i < t.size(); i++) {
      if (!Double.isFinite(t.getDouble(i))) {
        bad++;
      }
    }
    return bad;
  }

  /** Copies {@code src}'s stored bits into {@code dst} (same format and shape). */
  public static void copyInto(Tensor src, Tensor dst) {
    if (src.format() != dst.format() || !src.shape().equals(dst.shape())) {
      throw new IllegalArgumentException("cannot copy " + src + " into " + dst);
    }
    MemorySegment.copy(src.segment(), 0, dst.segment(), 0, src.segment().byteSize());
  }

  /** ‖x‖ in FP64. */
  public static double norm(float[] x) {
    double s = 0;
    for (float f : x) {
      s += (double) f * f;
    }
    return Math.sqrt(s);
  }

  /** The mean of the columns' FP64 norms (EasyEdit's "z error"). */
  public static double meanColumnNorm(double[][] r) {
    int n = r[0].length;
    double sum = 0;
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (double[] row : r) {
        s += row[j] * row[j];
      }
      sum += Math.sqrt(s);
    }
    return sum / n;
  }

  /** ‖x‖_F in FP64. */
  public static double frobenius(double[] x) {
    double s = 0;
    for (double v : x) {
      s += v * v;
    }
    return Math.sqrt(s);
  }
}
