package io.nanscope.editing.rome;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * ROME's weight update (Meng et al. 2022, eq. 2; EasyEdit rome_main.py): {@code W' = W + r·uᵀ} for
 * the down projection W: (C, F), with u: (F) the unit key direction and r: (C) the right vector
 * {@code r = (v* − W k)/(kᵀu)}, so that {@code W' k = v*}.
 *
 * <p>Numerics as PyTorch does it in the model's dtype: the update matrix {@code u ⊗ r} is
 * materialised in the weight format (each product computed exactly in double — a product of two
 * values of at most FP32 precision is exact in double — and rounded once from double), then {@code
 * W + upd} is rounded once to the weight format.
 *
 * <p>The update is computed into a new tensor and only then copied over the weights, so a caller
 * can refuse it (the transactional fallback) when it holds a non-finite value.
 */
public final class RankOneUpdate {

  private RankOneUpdate() {}

  /**
   * The updated weights, without touching {@code w}.
   *
   * @param w (C, F) current down projection
   * @param u (F) left vector
   * @param r (C) right vector
   */
  public static Tensor updated(Tensor w, float[] u, float[] r) {
    return updated(w, u, r, w.format());
  }

  /**
   * The updated weights with the update matrix {@code u ⊗ r} rounded to {@code updateFormat} (the
   * update site's format, {@code UpdateSite}); W' is rounded once to W's format. With {@code
   * updateFormat} = W's format this is {@link #updated(Tensor, float[], float[])}.
   */
  public static Tensor updated(Tensor w, float[] u, float[] r, FloatFormat updateFormat) {
    int c = Math.toIntExact(w.shape().dim(0));
    int f = Math.toIntExact(w.shape().dim(1));
    if (u.length != f || r.length != c) {
      throw new IllegalArgumentException(
          "rank-one update of W "
              + w.shape()
              + " needs u of length "
              + f
              + " and r of length "
              + c
              + ", got "
              + u.length
              + " and "
              + r.length);
    }
    FloatFormat fmt = w.format();
    Tensor out = w.copy();
    for (int i = 0; i < c; i++) {
      for (int j = 0; j < f; j++) {
        long at = (long) i * f + j;
        double upd = updateFormat.round((double) r[i] * u[j]);
        out.setDouble(at, fmt.round(w.getDouble(at) + upd));
      }
    }
    return out;
  }

  /** Number of NaN or infinite values in {@code t}. */
  public static long nonFinite(Tensor t) {
    long n = 0;
    for (long i = 0; i < t.size(); i++) {
      if (!Double.isFinite(t.getDouble(i))) {
        n++;
      }
    }
    return n;
  }

  /** Overwrites {@code dst} with {@code src} bit for bit (same format and shape). */
  public static void copyInto(Tensor src, Tensor dst) {
    if (src.format() != dst.format() || !src.shape().equals(dst.shape())) {
      throw new IllegalArgumentException("cannot copy " + src + " into " + dst);
    }
    MemorySegment.copy(src.segment(), 0, dst.segment(), 0, src.segment().byteSize());
  }
}
