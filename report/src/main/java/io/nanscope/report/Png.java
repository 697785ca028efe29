package io.nanscope.report;

import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG copies of the report's plots, rendered by XChart on a headless {@code BufferedImage} (no
 * display needed). The PNGs show the same data as the SVGs; what XChart cannot draw is said in the
 * series name: non-finite points are left out of a line (the series name counts them), and −∞
 * heatmap cells are drawn in the lowest colour and labelled {@code -inf}.
 */
final class Png {

  private Png() {}

  static byte[] lineChart(LineChart c) {
    XYChart chart =
        new XYChartBuilder()
            .width(Svg.LINE_W + 80)
            .height(Svg.LINE_H + 40)
            .title(c.title())
            .xAxisTitle(c.xLabel())
            .yAxisTitle(c.yLabel())
            .build();
    chart.getStyler().setChartBackgroundColor(Color.WHITE);
    chart.getStyler().setPlotBackgroundColor(Color.WHITE);
    chart.getStyler().setLegendVisible(true);
    chart.getStyler().setMarkerSize(4);
    int k = 0;
    boolean any = false;
    for (Map.Entry<String, double[]> e : c.series().entrySet()) {
      List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
      int nonFinite = 0;
      for (int i = 0; i < e.getValue().length; i++) {
        double v = e.getValue()[i];
        if (Double.isFinite(v)) {
          xs.add(c.xAt(i));
          ys.add(v);
        } else {
          nonFinite++;
        }
      }
      String name =
          nonFinite == 0 ? e.getKey() : e.getKey() + " (" + nonFinite + " non-finite left out)";
      if (xs.isEmpty()) {
        // XChart refuses an empty series; a legend-only entry says what happened.
        xs.add(c.xAt(0));
        ys.add(Double.NaN);
      } else {
        any = true;
      }
      XYSeries s = chart.addSeries(uniqueName(chart, name), xs, ys);
      s.setLineColor(new Color(Svg.PALETTE[k % Svg.PALETTE.length]));
      s.setMarkerColor(new Color(Svg.PALETTE[k % Svg.PALETTE.length]));
      s.setMarker(SeriesMarkers.CIRCLE);
      k++;
    }
    if (!any) {
      chart.setTitle(c.title() + " (no finite value)");
    }
    return encode(chart);
  }

  private static String uniqueName(XYChart chart, String name) {
    String n = name;
    for (int i = 2; chart.getSeries(n) != null; i++) {
      n = name + " (" + i + ")";
    }
    return n;
  }

  static byte[] heatmap(Heatmap h) {
    int rows = h.rowLabels().size(), cols = h.colLabels().size();
    HeatMapChart chart =
        new HeatMapChartBuilder()
            .width(Math.max(560, 200 + 8 * maxLen(h.rowLabels()) + 64 * cols))
            .height(Math.max(280, 150 + 34 * rows))
            .title(h.title() + " (" + h.unit() + ")")
            .build();
    chart.getStyler().setChartBackgroundColor(Color.WHITE);
    chart.getStyler().setShowValue(true);
    // Label every row and column (XChart otherwise thins category labels out to ~100 px apart).
    chart.getStyler().setXAxisTickMarkSpacingHint(20);
    chart.getStyler().setYAxisTickMarkSpacingHint(12);
    chart
        .getStyler()
        .setAxisTickLabelsFont(
            new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 11));
    chart.getStyler().setMin(h.low());
    chart.getStyler().setMax(h.high());
    Color[] range = new Color[6];
    for (int i = 0; i < range.length; i++) {
      range[i] = new Color(Heatmap.ramp(i / 5.0));
    }
    chart.getStyler().setRangeColors(range);
    // XChart puts y index 0 at the bottom: reverse the rows so the grid reads as in the HTML.
    List<String> ys = new ArrayList<>();
    for (int r = rows - 1; r >= 0; r--) {
      ys.add(h.rowLabels().get(r));
    }
    List<Number[]> data = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        double v = h.values()[r][c];
        if (Double.isNaN(v)) {
          continue;
        }
        double shown = Double.isInfinite(v) ? v : Math.max(h.low(), Math.min(h.high(), v));
        data.add(
            new Number[] {
              c, rows - 1 - r, Double.isInfinite(v) ? v : Math.round(shown * 100) / 100.0
            });
      }
    }
    chart.addSeries(h.unit(), h.colLabels(), ys, data);
    return encode(chart);
  }

  private static int maxLen(List<String> labels) {
    return labels.stream().mapToInt(String::length).max().orElse(0);
  }

  private static byte[] encode(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart) {
    try {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      if (!javax.imageio.ImageIO.write(BitmapEncoder.getBufferedImage(chart), "png", out)) {
        throw new IOException("no PNG writer in this JDK");
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "could not render the PNG of '" + chart.getTitle() + "': " + e.getMessage(), e);
    }
  }
}
