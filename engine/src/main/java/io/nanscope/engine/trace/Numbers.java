package io.nanscope.engine.trace;

import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.Locale;

/** Human-readable numbers for reports: {@code 66,975.3}, {@code 65,504}, {@code 5.9605e-08}. */
final class Numbers {

  private Numbers() {}

  /** Grouped decimal between 1e-3 and 1e9, scientific with 5 significant digits outside. */
  static String human(double v) {
    if (Double.isNaN(v)) {
      return "NaN";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "inf" : "-inf";
    }
    double a = Math.abs(v);
    if (a == 0 || (a >= 1e-3 && a < 1e9)) {
      DecimalFormat f = new DecimalFormat("#,##0.###", DecimalFormatSymbols.getInstance(Locale.ROOT));
      return f.format(v);
    }
    return String.format(Locale.ROOT, "%.4e", v);
  }

  /** Fixed 2-decimal binades for headroom columns; "inf"/"-inf" for the infinite cases. */
  static String binades(double h) {
    if (Double.isNaN(h)) {
      return "NaN";
    }
    if (Double.isInfinite(h)) {
      return h > 0 ? "inf" : "-inf";
    }
    return String.format(Locale.ROOT, "%.2f", h);
  }

  /** Compact magnitude for table cells: 4 significant digits. */
  static String compact(double v) {
    if (v == 0) {
      return "0";
    }
    if (!Double.isFinite(v)) {
      return human(v);
    }
    double a = Math.abs(v);
    if (a >= 1e-2 && a < 1e6) {
      return String.format(Locale.ROOT, "%.4g", v);
    }
    return String.format(Locale.ROOT, "%.3e", v);
  }
}
