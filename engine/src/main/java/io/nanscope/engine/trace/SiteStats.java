package io.nanscope.engine.trace;

import io.nanscope.engine.format.FloatFormat;

/**
 * One row of the per-site headroom table: the stats of one op's output at one site.
 *
 * @param at where and when the op ran (for a merged row, the first record's)
 * @param times how many records were merged into this row (1 for a raw row)
 * @param output stats of the op's output, with overflow/underflow when it kept its unrounded values
 */
public record SiteStats(OpLocation at, int times, TensorStats output) {

  /** The layer number of a {@code layers.N.…} site, or -1. */
  public int layer() {
    String n = at.site().name();
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
    String n = at.site().name();
    if (layer() < 0) {
      return n;
    }
    int end = n.indexOf('.', 7);
    return end < 0 ? n : n.substring(end + 1);
  }

  /** This row merged with another of the same phase, site and op. */
  public SiteStats merge(SiteStats o) {
    return new SiteStats(at, times + o.times, output.merge(o.output));
  }

  /** One JSON Lines object, {@code "type": "site_stats"}. */
  public Json toJson() {
    return at.toJson("site_stats")
        .put("layer", layer())
        .put("times", times)
        .put("headroom_fp16", output.headroomIn(FloatFormat.FP16))
        .put("headroom_bf16", output.headroomIn(FloatFormat.BF16))
        .put("output", output.toJson());
  }
}
