package io.nanscope.report;

import java.util.Locale;

/** Escaping and number formatting shared by the HTML and SVG writers. */
final class Text {

  private Text() {}

  /** Escapes text for HTML/XML element content and double-quoted attributes. */
  static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> {
          // XML 1.0 forbids most control characters even as references: drop them.
          if (c >= 0x20 || c == '\n' || c == '\t') {
            b.append(c);
          }
        }
      }
    }
    return b.toString();
  }

  /** 4 significant digits ({@code 34.03}, {@code 65500}), scientific outside [1e-3, 1e6); {@code NaN}, {@code inf}. */
  static String num(double v) {
    if (!Double.isFinite(v)) {
      return nonFinite(v);
    }
    if (v == 0) {
      return "0";
    }
    double a = Math.abs(v);
    if (a >= 1e-3 && a < 1e6) {
      return new java.math.BigDecimal(v).round(new java.math.MathContext(4)).stripTrailingZeros().toPlainString();
    }
    return String.format(Locale.ROOT, "%.3e", v);
  }

  /**
   * Every digit an FP16/BF16 value needs: grouped decimal with up to 3 decimals between 1e-3 and
   * 1e9 ({@code 66,975.281}, {@code 255.875}), scientific with 5 significant digits outside.
   */
  static String human(double v) {
    if (!Double.isFinite(v)) {
      return nonFinite(v);
    }
    double a = Math.abs(v);
    if (a == 0 || (a >= 1e-3 && a < 1e9)) {
      return new java.text.DecimalFormat("#,##0.###", java.text.DecimalFormatSymbols.getInstance(Locale.ROOT)).format(v);
    }
    return String.format(Locale.ROOT, "%.4e", v);
  }

  private static String nonFinite(double v) {
    return Double.isNaN(v) ? "NaN" : v > 0 ? "inf" : "-inf";
  }

  /** A coordinate with at most 2 decimals. */
  static String px(double v) {
    return String.format(Locale.ROOT, "%.2f", v).replaceAll("\\.?0+$", "");
  }

  /** {@code #rrggbb}. */
  static String hex(int rgb) {
    return String.format(Locale.ROOT, "#%06x", rgb & 0xffffff);
  }

  /** Lower-case letters, digits and '-' only, at most 40 characters: for file names. */
  static String slug(String s) {
    String t = s.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
    if (t.length() > 40) {
      t = t.substring(0, 40).replaceAll("-+$", "");
    }
    return t.isEmpty() ? "plot" : t;
  }
}
