package io.nanscope.report;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.engine.trace.StatsTable;
import io.nanscope.engine.trace.TensorStats;
import io.nanscope.llama.trace.PromptTrace.Result;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code trace --report} page: draws what a {@link io.nanscope.llama.trace.PromptTrace}
 * measured (heatmaps, the max|x| plot, the per-site table and the first-overflow event).
 */
public final class TraceReport {

  private TraceReport() {}

  /**
   * The marker of each row as {@link StatsTable#render} prints it ({@code !!}, {@code <1}, … or
   * ""), read back from the rendered table so the HTML highlights exactly what the console does.
   */
  public static List<String> marks(List<SiteStats> rows, FloatFormat rankBy, int tightest) {
    List<String> lines = StatsTable.render(rows, rankBy, tightest).lines().toList();
    if (lines.size() != rows.size() + 2) {
      throw new IllegalStateException(
          "StatsTable printed " + lines.size() + " lines for " + rows.size() + " rows");
    }
    List<String> marks = new ArrayList<>();
    for (String l : lines.subList(2, lines.size())) {
      marks.add(l.length() < 2 ? l.strip() : l.substring(0, 2).strip());
    }
    return marks;
  }

  /** The HTML table's headers, in {@link StatsTable}'s order. */
  public static final List<String> HEADERS =
      List.of(
          "mark",
          "layer",
          "site",
          "phase",
          "op",
          "format",
          "max|x|",
          "min|x|>0",
          "headroom fp16",
          "headroom bf16",
          "overflow",
          "underflow",
          "subnormal",
          "nan",
          "inf");

  /**
   * Adds the teaching view of a trace to a report: the precision of every op kind, the forward (and
   * backward) layer × site FP16 headroom heatmaps, log2 max|x| per layer of the tightest sites
   * against FP16's limit, the per-site table with the tightest rows highlighted, and the
   * first-overflow event (or a line saying there was none).
   */
  public static Report addTo(Report r, Result res, FloatFormat rankBy, int tightest) {
    String p = res.policy().name();
    r.pre("precision of every op kind", res.policy().describe());
    for (Phase phase : List.of(Phase.FORWARD, Phase.BACKWARD)) {
      if (res.rows(phase).isEmpty()) {
        continue;
      }
      String ph = phase.name().toLowerCase(java.util.Locale.ROOT);
      r.heatmap(
          HeadroomGrid.of(res.rows(), phase, FloatFormat.FP16)
              .heatmap(ph + " headroom in fp16, policy " + p + " (log2 65,504 / max|x|)"));
    }
    for (Phase phase : List.of(Phase.FORWARD, Phase.BACKWARD)) {
      if (res.rows(phase).isEmpty()) {
        continue;
      }
      String ph = phase.name().toLowerCase(java.util.Locale.ROOT);
      r.heatmap(
          HeadroomGrid.floorOf(res.rows(), phase, FloatFormat.FP16)
              .heatmap(
                  ph
                      + " floor headroom in fp16, policy "
                      + p
                      + " (log2 min|x|>0 / 2^-24, the smallest subnormal)"));
    }
    maxAbsPerLayer(r, res, rankBy);
    List<SiteStats> rows = res.rows();
    List<String> marks = marks(rows, rankBy, tightest);
    List<List<String>> cells = new ArrayList<>();
    Set<Integer> hl = new HashSet<>();
    for (int i = 0; i < rows.size(); i++) {
      SiteStats s = rows.get(i);
      TensorStats o = s.output();
      String u = o.hasUnrounded() ? null : "-";
      cells.add(
          List.of(
              marks.get(i),
              s.layer() < 0 ? "-" : Integer.toString(s.layer()),
              s.siteInLayer(),
              s.at().phaseName(),
              s.at().op(),
              o.format().name(),
              Text.num(o.maxAbs()),
              Text.num(o.minAbsNonZero()),
              binades(o.headroomIn(FloatFormat.FP16)),
              binades(o.headroomIn(FloatFormat.BF16)),
              u != null ? u : Long.toString(o.overflow()),
              u != null ? u : Long.toString(o.underflow()),
              Long.toString(o.subnormal()),
              Long.toString(o.nan()),
              Long.toString(o.infinities())));
      if (!marks.get(i).isEmpty()) {
        hl.add(i);
      }
    }
    r.table(
        "per-site table (highlighted: the "
            + tightest
            + " tightest in "
            + rankBy.name()
            + ", and !! for NaN/inf or negative headroom)",
        HEADERS,
        cells,
        hl);
    if (res.first().isPresent()) {
      r.event(res.first().get(), res.chain());
      res.firstNewNan()
          .filter(e -> e != res.first().get())
          .ifPresent(e -> r.event("First NaN (" + e.role() + ")", e, List.of()));
    } else {
      r.text("No op produced a NaN or an infinity under " + p + ".");
    }
    return r;
  }

  private static String binades(double h) {
    return Double.isFinite(h) ? String.format(java.util.Locale.ROOT, "%.2f", h) : Text.num(h);
  }

  /**
   * log2 max|x| per layer of the forward sites (inside layers) with the least headroom, with {@code
   * rankBy}'s log2 maxFinite as a reference line: the distance between a curve and that line is the
   * headroom.
   */
  private static void maxAbsPerLayer(Report r, Result res, FloatFormat rankBy) {
    Map<String, double[]> bySite = new LinkedHashMap<>();
    int layers = 0;
    for (SiteStats s : res.rows(Phase.FORWARD)) {
      layers = Math.max(layers, s.layer() + 1);
    }
    if (layers == 0) {
      return;
    }
    Map<String, Double> minHeadroom = new LinkedHashMap<>();
    for (SiteStats s : res.rows(Phase.FORWARD)) {
      if (s.layer() < 0 || s.output().maxAbs() == 0) {
        continue;
      }
      int n = layers;
      double[] v =
          bySite.computeIfAbsent(
              s.siteInLayer(),
              k -> {
                double[] a = new double[n];
                java.util.Arrays.fill(a, Double.NaN);
                return a;
              });
      double lg =
          s.output().nonFinite() > 0
              ? Double.POSITIVE_INFINITY
              : Math.log(s.output().maxAbs()) / Math.log(2);
      v[s.layer()] = Double.isNaN(v[s.layer()]) ? lg : Math.max(v[s.layer()], lg);
      minHeadroom.merge(
          s.siteInLayer(),
          s.output().nonFinite() > 0 ? Double.NEGATIVE_INFINITY : s.output().headroomIn(rankBy),
          Math::min);
    }
    List<String> top =
        minHeadroom.entrySet().stream()
            .sorted(Map.Entry.comparingByValue())
            .limit(5)
            .map(Map.Entry::getKey)
            .toList();
    Map<String, double[]> series = new LinkedHashMap<>();
    double[] limit = new double[layers];
    java.util.Arrays.fill(limit, Math.log(rankBy.info().maxFinite()) / Math.log(2));
    series.put(rankBy.name() + " maxFinite", limit);
    for (String s : top) {
      series.put(s, bySite.get(s));
    }
    double[] x = new double[layers];
    for (int i = 0; i < layers; i++) {
      x[i] = i;
    }
    r.lineChart(
        "log2 max|x| per layer, the 5 tightest forward sites", "layer", "log2 max|x|", x, series);
  }
}
