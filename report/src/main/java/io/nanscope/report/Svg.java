package io.nanscope.report;

import static io.nanscope.report.Text.esc;
import static io.nanscope.report.Text.px;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Inline SVG for the HTML report, written by hand (no library, no script, no external reference; no
 * {@code xmlns} either: inline SVG in HTML does not need one).
 */
final class Svg {

  private Svg() {}

  /** Series colours, in legend order (Tableau 10). */
  static final int[] PALETTE = {
    0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f, 0xedc948, 0xb07aa1, 0xff9da7, 0x9c755f,
    0xbab0ac
  };

  static final int LINE_W = 760, LINE_H = 360;
  private static final int LEFT = 72, RIGHT_LEGEND = 190, TOP = 46, BOTTOM = 52;

  /** Axis ticks: "nice" values (1, 2, 5 × 10^k) covering [lo, hi]. */
  record Ticks(double lo, double hi, double step) {
    static Ticks of(double lo, double hi, int target) {
      if (!(hi > lo)) {
        double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
        lo -= pad;
        hi += pad;
      }
      double step = nice((hi - lo) / Math.max(1, target));
      return new Ticks(Math.floor(lo / step) * step, Math.ceil(hi / step) * step, step);
    }

    static double nice(double x) {
      double e = Math.pow(10, Math.floor(Math.log10(x)));
      double f = x / e;
      return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * e;
    }

    List<Double> values() {
      List<Double> v = new ArrayList<>();
      long n = Math.round((hi - lo) / step);
      for (long i = 0; i <= n; i++) {
        v.add(lo + i * step);
      }
      return v;
    }

    String label(double v) {
      if (Math.abs(v) < step * 1e-9) {
        return "0";
      }
      double a = Math.abs(v);
      if (a >= 1e5 || a < 1e-3) {
        return String.format(java.util.Locale.ROOT, "%.1e", v);
      }
      int decimals = (int) Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
      return String.format(java.util.Locale.ROOT, "%." + decimals + "f", v);
    }
  }

  static String lineChart(LineChart c) {
    int plotL = LEFT, plotR = LINE_W - RIGHT_LEGEND, plotT = TOP, plotB = LINE_H - BOTTOM;
    int n = c.points();
    double[] yr = Heatmap.finiteRange(c.series().values());
    double ylo = yr[0], yhi = yr[1];
    if (ylo > yhi) {
      ylo = 0;
      yhi = 1;
    }
    double xlo = c.xAt(0), xhi = c.xAt(0);
    for (int i = 0; i < n; i++) {
      xlo = Math.min(xlo, c.xAt(i));
      xhi = Math.max(xhi, c.xAt(i));
    }
    Ticks yt = Ticks.of(ylo, yhi, 5), xt = Ticks.of(xlo, xhi, 8);
    if (xt.step() < 1 && integers(c, n)) {
      xt = new Ticks(Math.floor(xt.lo()), Math.ceil(xt.hi()), 1); // steps and layers: no 0.5 ticks
    }
    StringBuilder b = new StringBuilder();
    b.append("<svg class=\"plot line\" width=\"")
        .append(LINE_W)
        .append("\" height=\"")
        .append(LINE_H)
        .append("\" viewBox=\"0 0 ")
        .append(LINE_W)
        .append(' ')
        .append(LINE_H)
        .append("\" role=\"img\" aria-label=\"")
        .append(esc(c.title()))
        .append("\">\n");
    b.append("<rect x=\"0\" y=\"0\" width=\"")
        .append(LINE_W)
        .append("\" height=\"")
        .append(LINE_H)
        .append("\" fill=\"#ffffff\"/>\n");
    b.append(text(LINE_W / 2.0 - RIGHT_LEGEND / 2.0, 18, "middle", "title", c.title()));
    // Grid and ticks.
    for (double v : yt.values()) {
      double y = map(v, yt.lo(), yt.hi(), plotB, plotT);
      b.append(line(plotL, y, plotR, y, "grid"));
      b.append(text(plotL - 6, y + 4, "end", "tick", yt.label(v)));
    }
    for (double v : xt.values()) {
      double x = map(v, xt.lo(), xt.hi(), plotL, plotR);
      b.append(line(x, plotT, x, plotB, "grid"));
      b.append(text(x, plotB + 16, "middle", "tick", xt.label(v)));
    }
    b.append("<rect class=\"frame\" x=\"")
        .append(plotL)
        .append("\" y=\"")
        .append(plotT)
        .append("\" width=\"")
        .append(plotR - plotL)
        .append("\" height=\"")
        .append(plotB - plotT)
        .append("\"/>\n");
    b.append(text((plotL + plotR) / 2.0, LINE_H - 12, "middle", "axis", c.xLabel()));
    b.append("<text class=\"axis\" text-anchor=\"middle\" transform=\"translate(16 ")
        .append(px((plotT + plotB) / 2.0))
        .append(") rotate(-90)\">")
        .append(esc(c.yLabel()))
        .append("</text>\n");
    // Series.
    int k = 0;
    for (Map.Entry<String, double[]> e : c.series().entrySet()) {
      String color = Text.hex(PALETTE[k % PALETTE.length]);
      double[] ys = e.getValue();
      b.append("<g class=\"series\" data-series=\"")
          .append(esc(e.getKey()))
          .append("\" stroke=\"")
          .append(color)
          .append("\" fill=\"")
          .append(color)
          .append("\">\n");
      StringBuilder pts = new StringBuilder();
      boolean labelled = false;
      for (int i = 0; i <= ys.length; i++) {
        boolean finite = i < ys.length && Double.isFinite(ys[i]);
        if (finite) {
          double x = map(c.xAt(i), xt.lo(), xt.hi(), plotL, plotR);
          double y = map(ys[i], yt.lo(), yt.hi(), plotB, plotT);
          pts.append(pts.isEmpty() ? "" : " ").append(px(x)).append(',').append(px(y));
          if (ys.length <= 60) {
            b.append("<circle cx=\"")
                .append(px(x))
                .append("\" cy=\"")
                .append(px(y))
                .append("\" r=\"2.5\"><title>")
                .append(esc(e.getKey() + " @ " + Text.num(c.xAt(i)) + ": " + Text.num(ys[i])))
                .append("</title></circle>\n");
          }
        } else {
          if (!pts.isEmpty()) {
            b.append("<polyline fill=\"none\" stroke-width=\"1.8\" points=\"")
                .append(pts)
                .append("\"/>\n");
            pts.setLength(0);
          }
          if (i < ys.length) {
            // A non-finite value: a marker on the top edge, labelled once per series.
            double x = map(c.xAt(i), xt.lo(), xt.hi(), plotL, plotR);
            b.append("<path class=\"nonfinite\" d=\"M")
                .append(px(x - 4))
                .append(',')
                .append(plotT - 8)
                .append(" L")
                .append(px(x + 4))
                .append(',')
                .append(plotT - 8)
                .append(" L")
                .append(px(x))
                .append(',')
                .append(plotT)
                .append(" Z\"><title>")
                .append(esc(e.getKey() + " @ " + Text.num(c.xAt(i)) + ": " + Text.num(ys[i])))
                .append("</title></path>\n");
            if (!labelled) {
              b.append(text(x + 6, plotT - 2, "start", "nonfinite-label", Text.num(ys[i])));
              labelled = true;
            }
          }
        }
      }
      b.append("</g>\n");
      // Legend entry (as many as fit beside the plot, then a count of the rest).
      int fit = (plotB - plotT) / 18;
      double ly = plotT + 8 + k * 18;
      if (k == fit - 1 && c.series().size() > fit) {
        b.append(
            text(
                plotR + 14,
                ly + 4,
                "start",
                "legend",
                "+ " + (c.series().size() - k) + " more series"));
        k++;
        continue;
      } else if (k >= fit) {
        k++;
        continue;
      }
      b.append("<line x1=\"")
          .append(plotR + 14)
          .append("\" y1=\"")
          .append(px(ly))
          .append("\" x2=\"")
          .append(plotR + 34)
          .append("\" y2=\"")
          .append(px(ly))
          .append("\" stroke=\"")
          .append(color)
          .append("\" stroke-width=\"2.5\"/>\n");
      b.append(text(plotR + 40, ly + 4, "start", "legend", clip(e.getKey(), 22)));
      k++;
    }
    b.append("</svg>\n");
    return b.toString();
  }

  private static boolean integers(LineChart c, int n) {
    for (int i = 0; i < n; i++) {
      if (c.xAt(i) != Math.rint(c.xAt(i))) {
        return false;
      }
    }
    return true;
  }

  static final int CELL_W = 46, CELL_H = 20;

  static String heatmap(Heatmap h) {
    int rows = h.rowLabels().size(), cols = h.colLabels().size();
    int rowLabelW = 12 + 7 * h.rowLabels().stream().mapToInt(String::length).max().orElse(4);
    int colLabelH =
        14 + 6 * Math.min(24, h.colLabels().stream().mapToInt(String::length).max().orElse(2));
    boolean rotate = h.colLabels().stream().anyMatch(l -> l.length() > 5);
    if (!rotate) {
      colLabelH = 22;
    }
    int top = 30 + colLabelH;
    int w = rowLabelW + cols * CELL_W + 20;
    int legendTop = top + rows * CELL_H + 16;
    int height = legendTop + 44;
    w = Math.max(w, Math.max(420, 16 + (int) Math.ceil(8.2 * h.title().length())));
    StringBuilder b = new StringBuilder();
    b.append("<svg class=\"plot heatmap\" width=\"")
        .append(w)
        .append("\" height=\"")
        .append(height)
        .append("\" viewBox=\"0 0 ")
        .append(w)
        .append(' ')
        .append(height)
        .append("\" role=\"img\" aria-label=\"")
        .append(esc(h.title()))
        .append("\">\n");
    b.append("<rect x=\"0\" y=\"0\" width=\"")
        .append(w)
        .append("\" height=\"")
        .append(height)
        .append("\" fill=\"#ffffff\"/>\n");
    b.append(text(8, 18, "start", "title", h.title()));
    for (int c = 0; c < cols; c++) {
      double x = rowLabelW + c * CELL_W + CELL_W / 2.0;
      if (rotate) {
        b.append("<text class=\"tick\" text-anchor=\"start\" transform=\"translate(")
            .append(px(x - 2))
            .append(' ')
            .append(top - 4)
            .append(") rotate(-50)\">")
            .append(esc(clip(h.colLabels().get(c), 24)))
            .append("</text>\n");
      } else {
        b.append(text(x, top - 6, "middle", "tick", h.colLabels().get(c)));
      }
    }
    for (int r = 0; r < rows; r++) {
      double y = top + r * CELL_H;
      b.append(text(rowLabelW - 6, y + CELL_H / 2.0 + 4, "end", "tick", h.rowLabels().get(r)));
      for (int c = 0; c < cols; c++) {
        double v = h.values()[r][c];
        int rgb = h.rgb(v);
        if (rgb < 0) {
          continue;
        }
        double x = rowLabelW + c * CELL_W;
        b.append("<g class=\"cell\"><rect x=\"")
            .append(px(x))
            .append("\" y=\"")
            .append(px(y))
            .append("\" width=\"")
            .append(CELL_W - 1)
            .append("\" height=\"")
            .append(CELL_H - 1)
            .append("\" fill=\"")
            .append(Text.hex(rgb))
            .append("\"/>");
        String label =
            v == Double.NEGATIVE_INFINITY
                ? "−∞"
                : v == Double.POSITIVE_INFINITY ? "∞" : cellText(v);
        b.append("<text class=\"cellv\" text-anchor=\"middle\" x=\"")
            .append(px(x + CELL_W / 2.0))
            .append("\" y=\"")
            .append(px(y + CELL_H / 2.0 + 4))
            .append("\" fill=\"")
            .append(Heatmap.darkCell(rgb) ? "#ffffff" : "#000000")
            .append("\">")
            .append(esc(label))
            .append("</text><title>")
            .append(
                esc(
                    h.rowLabels().get(r)
                        + " × "
                        + h.colLabels().get(c)
                        + ": "
                        + Text.num(v)
                        + " "
                        + h.unit()))
            .append("</title></g>\n");
      }
    }
    // Legend: 24 steps of the ramp from low to high, and the −∞ swatch.
    int steps = 24, lw = 8;
    for (int i = 0; i < steps; i++) {
      double f = i / (double) (steps - 1);
      b.append("<rect x=\"")
          .append(8 + i * lw)
          .append("\" y=\"")
          .append(legendTop)
          .append("\" width=\"")
          .append(lw)
          .append("\" height=\"12\" fill=\"")
          .append(Text.hex(Heatmap.ramp(f)))
          .append("\"/>");
    }
    b.append('\n');
    b.append(text(8, legendTop + 26, "start", "tick", Text.num(h.low()) + " " + h.unit()));
    b.append(text(8 + steps * lw, legendTop + 26, "end", "tick", Text.num(h.high())));
    int sx = 8 + steps * lw + 24;
    b.append("<rect x=\"")
        .append(sx)
        .append("\" y=\"")
        .append(legendTop)
        .append("\" width=\"12\" height=\"12\" fill=\"#000000\"/>");
    b.append(text(sx + 16, legendTop + 10, "start", "tick", "−∞ (non-finite)"));
    b.append(text(sx + 16, legendTop + 26, "start", "tick", "blank: no value"));
    b.append("</svg>\n");
    return b.toString();
  }

  private static String cellText(double v) {
    double a = Math.abs(v);
    if (a >= 100 || (a < 0.01 && a > 0)) {
      return String.format(java.util.Locale.ROOT, "%.0e", v);
    }
    return String.format(java.util.Locale.ROOT, a >= 10 ? "%.1f" : "%.2f", v);
  }

  static double map(double v, double lo, double hi, double to0, double to1) {
    return to0 + (v - lo) / (hi - lo) * (to1 - to0);
  }

  private static String line(double x1, double y1, double x2, double y2, String cls) {
    return "<line class=\""
        + cls
        + "\" x1=\""
        + px(x1)
        + "\" y1=\""
        + px(y1)
        + "\" x2=\""
        + px(x2)
        + "\" y2=\""
        + px(y2)
        + "\"/>\n";
  }

  private static String text(double x, double y, String anchor, String cls, String s) {
    return "<text class=\""
        + cls
        + "\" x=\""
        + px(x)
        + "\" y=\""
        + px(y)
        + "\" text-anchor=\""
        + anchor
        + "\">"
        + esc(s)
        + "</text>\n";
  }

  static String clip(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }
}
