package io.nanscope.report;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.trace.FloorHeadroom;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.SiteStats;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The layer × site headroom grid of a traced run: one row per site name inside a layer ({@code
 * mlp.down_proj}, or {@code mlp.down_proj matmul.dw} when the site ran several ops in the phase) or
 * outside any layer ({@code lm_head}), one column per layer ({@code L0}, {@code L1}, …) plus a
 * column {@code model} for the sites outside the layers. A cell is the headroom {@code
 * log2(maxFinite / max|x|)} of that site's output in {@code format}, the smallest over the rows
 * merged into it; −∞ when the output held a NaN or an inf (whatever the format); NaN (blank) when
 * the site did not run there.
 *
 * @param phase the phase the rows were taken from
 * @param format the format the headroom is measured against
 */
public record HeadroomGrid(
    Phase phase,
    FloatFormat format,
    List<String> rowLabels,
    List<String> colLabels,
    double[][] values) {

  /** The column of the sites outside any layer. */
  public static final String MODEL_COLUMN = "model";

  public HeadroomGrid {
    rowLabels = List.copyOf(rowLabels);
    colLabels = List.copyOf(colLabels);
  }

  /**
   * The grid of the rows of {@code phase}, in order of first appearance (execution order).
   *
   * @throws IllegalArgumentException when no row is of that phase
   */
  public static HeadroomGrid of(List<SiteStats> rows, Phase phase, FloatFormat format) {
    return of(
        rows,
        phase,
        format,
        s -> s.output().nonFinite() > 0 ? Double.NEGATIVE_INFINITY : s.output().headroomIn(format));
  }

  /**
   * The floor grid: a cell is the floor headroom {@code log2(min|x|>0 / minSubnormal)} of that
   * site's output in {@code format} ({@link FloorHeadroom}), the smallest over the rows merged into
   * it; NaN (blank) when the site ran there without a non-zero value or did not run.
   */
  public static HeadroomGrid floorOf(List<SiteStats> rows, Phase phase, FloatFormat format) {
    return of(rows, phase, format, s -> FloorHeadroom.of(s.output(), format).toSubnormal());
  }

  private static HeadroomGrid of(
      List<SiteStats> rows,
      Phase phase,
      FloatFormat format,
      java.util.function.ToDoubleFunction<SiteStats> cell) {
    // A site that ran more than one op in this phase (matmul.dx and matmul.dw in backward) gets one
    // row per op: "mlp.down_proj matmul.dw".
    Map<String, java.util.Set<String>> ops = new LinkedHashMap<>();
    for (SiteStats s : rows) {
      if (s.at().phase() == phase) {
        ops.computeIfAbsent(s.siteInLayer(), k -> new java.util.LinkedHashSet<>()).add(s.at().op());
      }
    }
    Map<String, Map<Integer, Double>> cells = new LinkedHashMap<>();
    TreeSet<Integer> layers = new TreeSet<>();
    boolean global = false;
    for (SiteStats s : rows) {
      if (s.at().phase() != phase) {
        continue;
      }
      int layer = s.layer();
      if (layer >= 0) {
        layers.add(layer);
      } else {
        global = true;
      }
      double h = cell.applyAsDouble(s);
      String row =
          ops.get(s.siteInLayer()).size() > 1
              ? s.siteInLayer() + " " + s.at().op()
              : s.siteInLayer();
      cells.computeIfAbsent(row, k -> new LinkedHashMap<>()).merge(layer, h, HeadroomGrid::min);
    }
    if (cells.isEmpty()) {
      throw new IllegalArgumentException(
          "no traced op ran in phase "
              + phase.name().toLowerCase(java.util.Locale.ROOT)
              + ": trace that phase (e.g. run a backward pass) before drawing its headroom");
    }
    List<Integer> cols = new ArrayList<>(layers);
    List<String> colLabels = new ArrayList<>();
    cols.forEach(l -> colLabels.add("L" + l));
    if (global) {
      colLabels.add(MODEL_COLUMN);
    }
    List<String> rowLabels = new ArrayList<>(cells.keySet());
    double[][] values = new double[rowLabels.size()][colLabels.size()];
    for (int r = 0; r < rowLabels.size(); r++) {
      java.util.Arrays.fill(values[r], Double.NaN);
      for (Map.Entry<Integer, Double> e : cells.get(rowLabels.get(r)).entrySet()) {
        int c = e.getKey() < 0 ? colLabels.size() - 1 : cols.indexOf(e.getKey());
        values[r][c] = e.getValue();
      }
    }
    return new HeadroomGrid(phase, format, rowLabels, colLabels, values);
  }

  /** The smaller of two cells, a NaN cell (no value) giving way to the other. */
  private static double min(double a, double b) {
    return Double.isNaN(a) ? b : Double.isNaN(b) ? a : Math.min(a, b);
  }

  /** The smallest finite cell, or NaN when there is none. */
  public double minFinite() {
    double m = Heatmap.finiteRange(java.util.Arrays.asList(values))[0];
    return m == Double.POSITIVE_INFINITY ? Double.NaN : m;
  }

  /**
   * The grid as a heatmap coloured from 0 binades (red: no headroom left) to the largest finite
   * cell, so a safe run reads blue and only a tight site turns red; a negative cell (it would not
   * fit) is drawn in the red end too.
   */
  public Heatmap heatmap(String title) {
    double[] r = Heatmap.finiteRange(java.util.Arrays.asList(values));
    double lo = Math.min(0, r[0]), hi = r[1];
    if (!(hi > lo)) {
      hi = lo + 1;
    }
    return new Heatmap(title, rowLabels, colLabels, values, "binades", lo, hi);
  }
}
