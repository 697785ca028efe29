package io.nanscope.report;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A line plot: one or more named series over a shared x axis. Series may differ in length (an edit
 * that stopped early); a non-finite y value (a {@code loss nan}) is not drawn as a point: the line
 * breaks there and the plot marks the position on its top edge, labelled {@code NaN} or {@code
 * inf}.
 *
 * @param title the plot's title
 * @param xLabel the x axis label
 * @param yLabel the y axis label
 * @param x the x value of each index (length ≥ the longest series), or null for 0, 1, 2, …
 * @param series name → y values, in legend order
 */
public record LineChart(
    String title, String xLabel, String yLabel, double[] x, Map<String, double[]> series) {

  public LineChart {
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(xLabel, "xLabel");
    Objects.requireNonNull(yLabel, "yLabel");
    Objects.requireNonNull(series, "series");
    if (series.isEmpty()) {
      throw new IllegalArgumentException(
          "line chart '" + title + "' has no series: pass at least one");
    }
    Map<String, double[]> copy = new LinkedHashMap<>();
    int longest = 0;
    for (Map.Entry<String, double[]> e : series.entrySet()) {
      if (e.getKey() == null || e.getValue() == null) {
        throw new IllegalArgumentException(
            "line chart '" + title + "': a series name or its values is null");
      }
      copy.put(e.getKey(), e.getValue().clone());
      longest = Math.max(longest, e.getValue().length);
    }
    if (longest == 0) {
      throw new IllegalArgumentException("line chart '" + title + "': every series is empty");
    }
    if (x != null) {
      if (x.length < longest) {
        throw new IllegalArgumentException(
            "line chart '"
                + title
                + "': "
                + x.length
                + " x values for a series of "
                + longest
                + " points: pass at least as many x values");
      }
      for (double v : x) {
        if (!Double.isFinite(v)) {
          throw new IllegalArgumentException(
              "line chart '" + title + "': x values must be finite, got " + v);
        }
      }
      x = x.clone();
    }
    series = java.util.Collections.unmodifiableMap(copy);
  }

  /** The longest series' length. */
  public int points() {
    return series.values().stream().mapToInt(v -> v.length).max().orElse(0);
  }

  /** The x value of index i. */
  public double xAt(int i) {
    return x == null ? i : x[i];
  }

  /** The series names, in legend order. */
  public List<String> names() {
    return List.copyOf(series.keySet());
  }
}
