package io.nanscope.engine.trace;

import io.nanscope.engine.format.FloatFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The underflow twin of {@link StatsTable}: the sites nearest the bottom of a format's range, with
 * their floor headroom ({@link FloorHeadroom}) and the share of values flushed to zero or made
 * subnormal. Rows that flushed values come first (most flushed first), then the rest by floor
 * headroom, smallest first; rows without a non-zero value are left out.
 */
public final class FloorTable {

  private static final String[] HEADER = {
    "layer",
    "site",
    "phase",
    "op",
    "format",
    "min|x|>0",
    "floor to subnormal",
    "floor to normal",
    "flushed to 0",
    "flushed %",
    "subnormal %"
  };
  private static final int FIRST_NUMERIC = 5;

  private FloorTable() {}

  /** The {@code n} rows nearest the floor of {@code format}, in the order described above. */
  public static List<SiteStats> nearest(List<SiteStats> rows, FloatFormat format, int n) {
    if (n < 0) {
      throw new IllegalArgumentException("n must be >= 0, got " + n);
    }
    Comparator<SiteStats> byFlushed =
        Comparator.comparingLong(s -> -Math.max(0, FloorHeadroom.of(s.output(), format).flushed()));
    Comparator<SiteStats> byFloor =
        Comparator.comparingDouble(s -> FloorHeadroom.of(s.output(), format).toSubnormal());
    return rows.stream()
        .filter(s -> s.output().minAbsNonZero() > 0)
        .sorted(byFlushed.thenComparing(byFloor))
        .limit(n)
        .toList();
  }

  /**
   * The table of {@code rows} in the given order, floor headroom in {@code format} (binades; the
   * flushed and subnormal shares are in each site's own format), ending with a newline.
   */
  public static String render(List<SiteStats> rows, FloatFormat format) {
    List<String[]> cells = new ArrayList<>();
    String[] header = HEADER.clone();
    header[6] = "floor " + format.name() + " subnormal";
    header[7] = "floor " + format.name() + " normal";
    cells.add(header);
    for (SiteStats s : rows) {
      FloorHeadroom f = FloorHeadroom.of(s.output(), format);
      cells.add(
          new String[] {
            s.layer() < 0 ? "-" : Integer.toString(s.layer()),
            s.siteInLayer(),
            s.at().phaseName(),
            s.at().op(),
            s.output().format().name(),
            Numbers.compact(s.output().minAbsNonZero()),
            Numbers.binades(f.toSubnormal()),
            Numbers.binades(f.toNormal()),
            f.flushed() < 0 ? "-" : String.format(Locale.ROOT, "%,d", f.flushed()),
            f.flushed() < 0 ? "-" : percent(f.flushedPercent()),
            percent(f.subnormalPercent())
          });
    }
    return TextTable.render(cells, c -> c >= FIRST_NUMERIC || c == 0);
  }

  private static String percent(double p) {
    return Double.isNaN(p) ? "-" : String.format(Locale.ROOT, "%.1f", p);
  }
}
