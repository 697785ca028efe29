package io.nanscope.engine.trace;

import io.nanscope.engine.format.FloatFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Renders {@link SiteStats} rows as the plain-text per-site headroom table the {@code trace}
 * command prints: aligned columns (text left, numbers right) and a marker column for the tightest
 * sites.
 *
 * <p>Marker: {@code !!} for a row that holds NaN/inf or has negative headroom in the ranking format
 * (it would not fit), {@code <1}, {@code <2}… for the {@code tightest} rows with the least headroom
 * in that format, tightest first.
 */
public final class StatsTable {

  private static final String[] HEADER = {
    "",
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
    "inf"
  };
  private static final int FIRST_NUMERIC = 6;

  private StatsTable() {}

  /** Ranks by FP16 headroom and marks the 5 tightest rows. */
  public static String render(List<SiteStats> rows) {
    return render(rows, FloatFormat.FP16, 5);
  }

  /**
   * The table, one line per row in the given order, ending with a newline.
   *
   * @param rankBy the format whose headroom ranks the tightest rows
   * @param tightest how many rows to mark (0 for none)
   */
  public static String render(List<SiteStats> rows, FloatFormat rankBy, int tightest) {
    if (tightest < 0) {
      throw new IllegalArgumentException("tightest must be >= 0, got " + tightest);
    }
    String[] marks = new String[rows.size()];
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      SiteStats s = rows.get(i);
      double h = s.output().headroomIn(rankBy);
      if (s.output().nonFinite() > 0 || h < 0) {
        marks[i] = "!!";
      } else {
        marks[i] = "";
        order.add(i);
      }
    }
    order.sort(Comparator.comparingDouble(i -> rows.get(i).output().headroomIn(rankBy)));
    for (int k = 0; k < Math.min(tightest, order.size()); k++) {
      marks[order.get(k)] = "<" + (k + 1);
    }
    List<String[]> cells = new ArrayList<>();
    cells.add(HEADER);
    for (int i = 0; i < rows.size(); i++) {
      cells.add(cells(rows.get(i), marks[i]));
    }
    return TextTable.render(cells, c -> c >= FIRST_NUMERIC || c == 1);
  }

  private static String[] cells(SiteStats s, String mark) {
    TensorStats o = s.output();
    String unknown = o.hasUnrounded() ? null : "-";
    return new String[] {
      mark,
      s.layer() < 0 ? "-" : Integer.toString(s.layer()),
      s.siteInLayer(),
      s.at().phaseName(),
      s.at().op(),
      o.format().name(),
      Numbers.compact(o.maxAbs()),
      Numbers.compact(o.minAbsNonZero()),
      Numbers.binades(o.headroomIn(FloatFormat.FP16)),
      Numbers.binades(o.headroomIn(FloatFormat.BF16)),
      unknown != null ? unknown : Long.toString(o.overflow()),
      unknown != null ? unknown : Long.toString(o.underflow()),
      Long.toString(o.subnormal()),
      Long.toString(o.nan()),
      Long.toString(o.infinities())
    };
  }
}
