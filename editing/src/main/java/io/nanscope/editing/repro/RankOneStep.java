package io.nanscope.editing.repro;

import io.nanscope.editing.keys.UpdateSite;
import io.nanscope.editing.rome.RankOneUpdate;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.Tracer;
import java.util.List;

/**
 * The last part of a ROME edit — the right vector and the rank-one update — for a given Division
 * Factor, with the values before rounding kept so the first-overflow report can say what crossed
 * the limit. Neither is an engine op, so no tracer sees them unless this class reports them (phase
 * {@link Phase#RANK_ONE_UPDATE}).
 *
 * <pre>
 *   diff = round(v* − W k)            (C)
 *   r    = round(diff / (kᵀu))        (C)      kᵀu: computed, or the labelled override
 *   W'   = round(W + round(r ⊗ u))    (C, F)   RankOneUpdate
 * </pre>
 *
 * The same arithmetic as {@code Rome.compute} (rounded to the storage format at each step); a test
 * checks that this gives bit for bit the update {@code Rome.compute} returns. The sweep of the
 * disabling edit uses it to try several factors on one optimised v* instead of re-running the edit.
 *
 * @param layer edited layer L
 * @param r (C) right vector as stored; @param rUnrounded (C) the same before rounding (FP32)
 * @param updated (C, F) the new W_down, not written anywhere
 * @param updatedUnrounded (C, F) W + round(r ⊗ u) before the last rounding (FP32), null for FP32
 *     weights
 * @param updateFormat the format diff, r and r ⊗ u are rounded to (the update site's)
 */
public record RankOneStep(
    int layer,
    double divisionFactor,
    float[] diff,
    float[] r,
    float[] rUnrounded,
    Tensor updated,
    Tensor updatedUnrounded,
    long nonFiniteWeights,
    FloatFormat updateFormat) {

  /**
   * @param target v* (C); @param curOutput W k at the subject of the bare prompt (C)
   * @param u (F) left vector; @param w (C, F) current W_down (not changed)
   */
  public static RankOneStep of(
      int layer, float[] target, float[] curOutput, float[] u, double divisionFactor, Tensor w) {
    return of(layer, target, curOutput, u, divisionFactor, w, w.format());
  }

  /**
   * The same with diff, r and the update matrix rounded to {@code updateFormat}, the update site's
   * format ({@code UpdateSite.format}); W′ is rounded to W's format.
   */
  public static RankOneStep of(
      int layer,
      float[] target,
      float[] curOutput,
      float[] u,
      double divisionFactor,
      Tensor w,
      FloatFormat updateFormat) {
    FloatFormat fmt = updateFormat;
    int c = target.length;
    float[] diff = new float[c];
    float[] r = new float[c];
    float[] rRaw = new float[c];
    for (int i = 0; i < c; i++) {
      diff[i] = fmt.round(target[i] - curOutput[i]);
      double q = diff[i] / divisionFactor;
      rRaw[i] = (float) q;
      r[i] = (float) fmt.round(q);
    }
    Tensor updated = RankOneUpdate.updated(w, u, r, fmt);
    Tensor raw = null;
    if (w.format() != FloatFormat.FP32) {
      int f = u.length;
      raw = Tensor.zeros(FloatFormat.FP32, w.shape());
      for (int i = 0; i < c; i++) {
        for (int j = 0; j < f; j++) {
          long at = (long) i * f + j;
          raw.set(at, (float) (w.getDouble(at) + fmt.round((double) r[i] * u[j])));
        }
      }
    }
    return new RankOneStep(
        layer, divisionFactor, diff, r, rRaw, updated, raw, RankOneUpdate.nonFinite(updated), fmt);
  }

  /**
   * Reports the right vector (op {@code div}) and the new weights W′ (op {@code rank_one_update})
   * to {@code tracer} as phase RANK_ONE_UPDATE records, both at the update site {@code
   * layers.L.mlp.down_proj.update} ({@link UpdateSite}): the site a policy widens to change them,
   * so a first-overflow report and {@code bisect} name it.
   */
  public void report(Tracer tracer, Tensor w, float[] u) {
    if (!tracer.enabled()) {
      return;
    }
    FloatFormat fmt = updateFormat;
    Tensor diffT = Tensor.of(fmt, Shape.of(diff.length), diff);
    Tensor rT = Tensor.of(fmt, Shape.of(r.length), r);
    Tensor rRaw =
        fmt == FloatFormat.FP32
            ? null
            : Tensor.of(FloatFormat.FP32, Shape.of(r.length), rUnrounded);
    Tensor factor = Tensor.of(FloatFormat.FP32, Shape.of(1), (float) divisionFactor);
    Site site = UpdateSite.of(layer);
    tracer.record(
        new OpRecord(site, "div", Phase.RANK_ONE_UPDATE, -1, List.of(diffT, factor), rT, rRaw));
    tracer.record(
        new OpRecord(
            site,
            "rank_one_update",
            Phase.RANK_ONE_UPDATE,
            -1,
            List.of(w, Tensor.of(w.format(), Shape.of(u.length), u), rT),
            updated,
            updatedUnrounded));
  }
}
