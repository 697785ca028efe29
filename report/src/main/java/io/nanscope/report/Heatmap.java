package io.nanscope.report;

import java.util.List;
import java.util.Objects;

/**
 * A grid of numbers drawn as coloured cells: red for the lowest values through yellow to blue for
 * the highest, between {@code low} and {@code high} (values outside are clamped to the end
 * colours). Meant for headroom in binades, where low is dangerous. A NaN cell is empty (no value
 * there); a −inf cell is drawn black and labelled {@code −∞} (for headroom: the output held NaN or
 * inf); +inf is drawn in the high colour and labelled {@code ∞}.
 *
 * @param title the plot's title
 * @param rowLabels one label per row (top to bottom)
 * @param colLabels one label per column (left to right)
 * @param values [row][column]
 * @param unit what the numbers are, e.g. {@code binades}
 * @param low the value drawn in the lowest colour
 * @param high the value drawn in the highest colour (greater than low)
 */
public record Heatmap(
    String title,
    List<String> rowLabels,
    List<String> colLabels,
    double[][] values,
    String unit,
    double low,
    double high) {

  public Heatmap {
    Objects.requireNonNull(title, "title");
    Objects.requireNonNull(unit, "unit");
    rowLabels = List.copyOf(rowLabels);
    colLabels = List.copyOf(colLabels);
    if (rowLabels.isEmpty() || colLabels.isEmpty()) {
      throw new IllegalArgumentException(
          "heatmap '" + title + "' needs at least one row and one column");
    }
    if (values == null || values.length != rowLabels.size()) {
      throw new IllegalArgumentException(
          "heatmap '"
              + title
              + "': "
              + (values == null ? 0 : values.length)
              + " rows of values for "
              + rowLabels.size()
              + " row labels");
    }
    double[][] copy = new double[values.length][];
    for (int r = 0; r < values.length; r++) {
      if (values[r] == null || values[r].length != colLabels.size()) {
        throw new IllegalArgumentException(
            "heatmap '"
                + title
                + "': row "
                + r
                + " has "
                + (values[r] == null ? 0 : values[r].length)
                + " values for "
                + colLabels.size()
                + " column labels");
      }
      copy[r] = values[r].clone();
    }
    values = copy;
    if (!(Double.isFinite(low) && Double.isFinite(high) && low < high)) {
      throw new IllegalArgumentException(
          "heatmap '"
              + title
              + "': the colour range must be finite with low < high, got ["
              + low
              + ", "
              + high
              + "]");
    }
  }

  /**
   * A heatmap coloured from the smallest to the largest finite value (a range of width 1 around a
   * single value when they are all equal, [0, 1] when none is finite).
   */
  public static Heatmap autoRange(
      String title,
      List<String> rowLabels,
      List<String> colLabels,
      double[][] values,
      String unit) {
    double[] r = finiteRange(values == null ? List.of() : java.util.Arrays.asList(values));
    double lo = r[0], hi = r[1];
    if (lo > hi) {
      lo = 0;
      hi = 1;
    } else if (lo == hi) {
      lo -= 0.5;
      hi += 0.5;
    }
    return new Heatmap(title, rowLabels, colLabels, values, unit, lo, hi);
  }

  /**
   * {lo, hi}: the smallest and largest finite value of the arrays (null arrays skipped), or {+inf,
   * -inf} when there is none.
   */
  static double[] finiteRange(Iterable<double[]> arrays) {
    double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
    for (double[] a : arrays) {
      for (double v : a == null ? new double[0] : a) {
        if (Double.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    return new double[] {lo, hi};
  }

  /** The position of v in the colour range, clamped to [0, 1]; NaN for NaN. */
  public double fraction(double v) {
    if (Double.isNaN(v)) {
      return Double.NaN;
    }
    return Math.max(0, Math.min(1, (v - low) / (high - low)));
  }

  /** The cell colour of v as {@code 0xRRGGBB}; -1 for NaN (no cell). */
  public int rgb(double v) {
    if (Double.isNaN(v)) {
      return -1;
    }
    if (v == Double.NEGATIVE_INFINITY) {
      return 0x000000;
    }
    return ramp(fraction(v));
  }

  // Red (low) → orange → yellow → light blue → blue (high): ColorBrewer RdYlBu stops.
  private static final int[] STOPS = {0xd73027, 0xfc8d59, 0xfee090, 0xe0f3f8, 0x91bfdb, 0x4575b4};

  static int ramp(double f) {
    double p = f * (STOPS.length - 1);
    int i = Math.min(STOPS.length - 2, (int) Math.floor(p));
    double t = p - i;
    int a = STOPS[i], b = STOPS[i + 1];
    int r = (int) Math.round(((a >> 16) & 255) * (1 - t) + ((b >> 16) & 255) * t);
    int g = (int) Math.round(((a >> 8) & 255) * (1 - t) + ((b >> 8) & 255) * t);
    int bl = (int) Math.round((a & 255) * (1 - t) + (b & 255) * t);
    return (r << 16) | (g << 8) | bl;
  }

  /** Whether text on a cell of colour rgb should be white (dark cell) rather than black. */
  static boolean darkCell(int rgb) {
    double lum = 0.2126 * ((rgb >> 16) & 255) + 0.7152 * ((rgb >> 8) & 255) + 0.0722 * (rgb & 255);
    return lum < 110;
  }
}
