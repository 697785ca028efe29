package io.nanscope.report;

import io.nanscope.engine.trace.Numbers;
import java.util.Locale;

/**
 * Escaping, coordinates, colours and file names for the HTML and SVG writers; numbers come from the
 * engine's {@link Numbers}, the one number formatter.
 */
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

  /** {@link Numbers#significant}: 4 significant digits; {@code NaN}, {@code inf}. */
  static String num(double v) {
    return Numbers.significant(v);
  }

  /** {@link Numbers#human}: every digit an FP16/BF16 value needs. */
  static String human(double v) {
    return Numbers.human(v);
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
