package io.nanscope.engine.trace;

import io.nanscope.engine.format.FloatFormat;
import java.util.Locale;

/**
 * One row of the per-site headroom table: the stats of one op's output at one site.
 *
 * @param opIndex how many records the tracer had seen before this one (0-based); for a merged row,
 *     the first one's
 * @param context the caller's context when the op ran (for a merged row, the first one's)
 * @param phase forward, backward, optimiser…
 * @param site where
 * @param op which op
 * @param step the op's step, or the context's when the op gave none (-1 if neither)
 * @param times how many records were merged into this row (1 for a raw row)
 * @param output stats of the op's output, with overflow/underflow when it kept its unrounded values
 */
public record SiteStats(
    long opIndex,
    TraceContext.Snapshot context,
    Phase phase,
    Site site,
    String op,
    int step,
    int times,
    TensorStats output) {

  /** The layer number of a {@code layers.N.…} site, or -1. */
  public int layer() {
    String n = site.name();
    if (!n.startsWith("layers.")) {
      return -1;
    }
    int end = n.indexOf('.', 7);
    try {
      return Integer.parseInt(end < 0 ? n.substring(7) : n.substring(7, end));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The site without its {@code layers.N.} prefix: {@code mlp.down_proj}. */
  public String siteInLayer() {
    String n = site.name();
    if (layer() < 0) {
      return n;
    }
    int end = n.indexOf('.', 7);
    return end < 0 ? n : n.substring(end + 1);
  }

  /** This row merged with another of the same phase, site and op. */
  public SiteStats merge(SiteStats o) {
    return new SiteStats(
        opIndex, context, phase, site, op, step, times + o.times, output.merge(o.output));
  }

  /** One JSON Lines object, {@code "type": "site_stats"}. */
  public Json toJson() {
    return Json.object()
        .put("type", "site_stats")
        .put("op_index", opIndex)
        .put("record", context.record())
        .put("label", context.label())
        .put("phase", phase.name().toLowerCase(Locale.ROOT))
        .put("site", site.name())
        .put("layer", layer())
        .put("op", op)
        .put("step", step)
        .put("times", times)
        .put("headroom_fp16", output.headroomIn(FloatFormat.FP16))
        .put("headroom_bf16", output.headroomIn(FloatFormat.BF16))
        .put("output", output.toJson());
  }
}
