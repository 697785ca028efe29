package io.nanscope.engine.trace;

import java.math.BigDecimal;
import java.math.MathContext;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.Locale;

/**
 * Every number nanscope prints for people, in one place, with one rule for the values that are not
 * numbers: {@code NaN}, {@code inf} and {@code -inf} (never Java's {@code Infinity}, never {@code
 * nan}). The exceptions are texts that follow Python's spelling on purpose and keep {@code nan}:
 * EasyEdit's log lines, reproduced character for character ({@code
 * io.nanscope.editing.keys.PyFloat}), and the {@code round} command's value, written as numpy
 * writes it (it also reads {@code nan}, {@code inf} back).
 */
public final class Numbers {

  private Numbers() {}

  /** {@code NaN}, {@code inf} or {@code -inf}; only for a non-finite {@code v}. */
  public static String nonFinite(double v) {
    if (Double.isFinite(v)) {
      throw new IllegalArgumentException(v + " is finite");
    }
    return Double.isNaN(v) ? "NaN" : v > 0 ? "inf" : "-inf";
  }

  /**
   * Every digit an FP16/BF16 value needs: grouped decimal with up to 3 decimals between 1e-3 and
   * 1e9 ({@code 66,975.281}, {@code 65,504}), scientific with 5 significant digits outside ({@code
   * 5.9605e-08}).
   */
  public static String human(double v) {
    if (!Double.isFinite(v)) {
      return nonFinite(v);
    }
    double a = Math.abs(v);
    if (a == 0 || (a >= 1e-3 && a < 1e9)) {
      DecimalFormat f =
          new DecimalFormat("#,##0.###", DecimalFormatSymbols.getInstance(Locale.ROOT));
      return f.format(v);
    }
    return String.format(Locale.ROOT, "%.4e", v);
  }

  /** Fixed 2-decimal binades for headroom columns. */
  public static String binades(double h) {
    return fixed(h, 2);
  }

  /** {@code decimals} digits after the point ({@code %.Nf}). */
  public static String fixed(double v, int decimals) {
    if (!Double.isFinite(v)) {
      return nonFinite(v);
    }
    return String.format(Locale.ROOT, "%." + decimals + "f", v);
  }

  /**
   * Compact magnitude for table cells: 4 significant digits ({@code %.4g}), scientific outside
   * [1e-2, 1e6).
   */
  public static String compact(double v) {
    if (v == 0) {
      return "0";
    }
    if (!Double.isFinite(v)) {
      return nonFinite(v);
    }
    double a = Math.abs(v);
    if (a >= 1e-2 && a < 1e6) {
      return String.format(Locale.ROOT, "%.4g", v);
    }
    return String.format(Locale.ROOT, "%.3e", v);
  }

  /**
   * 4 significant digits without trailing zeros ({@code 34.03}, {@code 65500}), scientific outside
   * [1e-3, 1e6) ({@code 1.250e-05}).
   */
  public static String significant(double v) {
    if (!Double.isFinite(v)) {
      return nonFinite(v);
    }
    if (v == 0) {
      return "0";
    }
    double a = Math.abs(v);
    if (a >= 1e-3 && a < 1e6) {
      return new BigDecimal(v).round(new MathContext(4)).stripTrailingZeros().toPlainString();
    }
    return String.format(Locale.ROOT, "%.3e", v);
  }

  /** 4 decimals ({@code 2.0794}), scientific with 5 significant digits outside [1e-3, 1e6). */
  public static String decimal4(double v) {
    if (!Double.isFinite(v)) {
      return nonFinite(v);
    }
    double a = Math.abs(v);
    return a != 0 && (a < 1e-3 || a >= 1e6)
        ? String.format(Locale.ROOT, "%.4e", v)
        : String.format(Locale.ROOT, "%.4f", v);
  }

  /** {@code %.4g}, scientific ({@code %.3e}) from 1e4 and below 1e-3; 0 as {@code 0.000}. */
  public static String general4(double v) {
    if (!Double.isFinite(v)) {
      return nonFinite(v);
    }
    double a = Math.abs(v);
    return a >= 1e4 || (v != 0 && a < 1e-3)
        ? String.format(Locale.ROOT, "%.3e", v)
        : String.format(Locale.ROOT, "%.4g", v);
  }
}
