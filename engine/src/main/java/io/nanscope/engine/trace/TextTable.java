package io.nanscope.engine.trace;

import java.util.List;
import java.util.function.IntPredicate;

/**
 * A plain-text table: the first row is the header, underlined with dashes; columns are two spaces
 * apart, each as wide as its widest cell; cells are right-aligned where {@code rightAligned} says
 * so, else left-aligned; trailing blanks are stripped. Shared by {@link StatsTable} and {@link
 * FloorTable}.
 */
final class TextTable {

  private TextTable() {}

  static String render(List<String[]> cells, IntPredicate rightAligned) {
    int columns = cells.get(0).length;
    int[] width = new int[columns];
    for (String[] line : cells) {
      for (int c = 0; c < line.length; c++) {
        width[c] = Math.max(width[c], line[c].length());
      }
    }
    StringBuilder b = new StringBuilder();
    for (int r = 0; r < cells.size(); r++) {
      line(b, cells.get(r), width, rightAligned);
      if (r == 0) {
        String[] rule = new String[columns];
        for (int c = 0; c < rule.length; c++) {
          rule[c] = "-".repeat(width[c]);
        }
        line(b, rule, width, rightAligned);
      }
    }
    return b.toString();
  }

  private static void line(StringBuilder b, String[] line, int[] width, IntPredicate right) {
    StringBuilder l = new StringBuilder();
    for (int c = 0; c < line.length; c++) {
      if (c > 0) {
        l.append("  ");
      }
      String pad = " ".repeat(width[c] - line[c].length());
      l.append(right.test(c) ? pad + line[c] : line[c] + pad);
    }
    b.append(l.toString().stripTrailing()).append('\n');
  }
}
