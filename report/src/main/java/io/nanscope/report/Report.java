package io.nanscope.report;

import static io.nanscope.report.Text.esc;

import io.nanscope.engine.io.AtomicFile;
import io.nanscope.engine.trace.ChainLink;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.OffendingValue;
import io.nanscope.engine.trace.TensorStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A report: ONE self-contained offline HTML file (inline SVG plots and CSS; no script, no external
 * URL, no web font) that any browser opens from disk, with a PNG copy of every plot and the
 * attached files (the JSON Lines trace) written beside it. Callers add sections in reading order:
 *
 * <pre>{@code
 * Report r = new Report("nanscope repro");
 * r.heading("Scenario natural").text("The embedded model as it is ...");
 * r.lineChart("loss per step", "step", "loss", Map.of("fp32", lossFp32, "fp16", lossFp16));
 * r.heatmap(HeadroomGrid.of(stats.bySite(), Phase.FORWARD, FloatFormat.FP16).heatmap("forward headroom"));
 * r.table("comparison", List.of("precision", "loss"), rows);
 * r.event(anomaly.first().orElseThrow(), anomaly.chain());
 * r.list("fallback switches", switches);
 * r.attach(Path.of("trace.jsonl"), "the JSON Lines trace");
 * List<Path> written = r.write(Path.of("out/report.html"));
 * }</pre>
 *
 * <p>Files beside {@code NAME.html}: {@code NAME-01-<title>.png} per plot, {@code NAME-<file>} per
 * attachment. Every file is written to a temporary sibling and renamed atomically, the HTML last,
 * so a reader never sees a half-written file or an HTML page whose PNGs are missing. The HTML has
 * no timestamp: the same inputs give the same bytes.
 *
 * <p>Not thread-safe; build a report from one thread.
 */
public final class Report {

  private final String title;
  private final List<Block> blocks = new ArrayList<>();

  /** The kinds of block a report holds, in the order they were added. */
  private sealed interface Block {}

  private record Heading(String text) implements Block {}

  private record Paragraph(String text) implements Block {}

  private record Preformatted(String title, String text) implements Block {}

  private record Line(LineChart chart) implements Block {}

  private record Heat(Heatmap map) implements Block {}

  private record Table(
      String title, List<String> headers, List<List<String>> rows, Set<Integer> highlighted)
      implements Block {}

  private record Event(
      String title, FirstNonFinite first, List<ChainLink> chain, Map<String, ?> fields)
      implements Block {}

  private record Items(String title, List<String> items) implements Block {}

  private record Attachment(Path file, String description) implements Block {}

  public Report(String title) {
    this.title = Objects.requireNonNull(title, "title");
  }

  /** A section heading; the blocks after it belong to it (listed in the page's contents). */
  public Report heading(String text) {
    blocks.add(new Heading(Objects.requireNonNull(text, "text")));
    return this;
  }

  /** A paragraph of free text (blank lines split paragraphs). */
  public Report text(String paragraph) {
    blocks.add(new Paragraph(Objects.requireNonNull(paragraph, "paragraph")));
    return this;
  }

  /** Monospaced text as it is: a console table, a log, {@code PrecisionPolicy.describe()}. */
  public Report pre(String title, String text) {
    blocks.add(
        new Preformatted(
            Objects.requireNonNull(title, "title"), Objects.requireNonNull(text, "text")));
    return this;
  }

  /** A line plot over x = 0, 1, 2, … (see {@link LineChart}). */
  public Report lineChart(
      String title, String xLabel, String yLabel, Map<String, double[]> series) {
    return lineChart(new LineChart(title, xLabel, yLabel, null, series));
  }

  /** A line plot with explicit x values (e.g. the calibration peak fraction). */
  public Report lineChart(
      String title, String xLabel, String yLabel, double[] x, Map<String, double[]> series) {
    return lineChart(new LineChart(title, xLabel, yLabel, x, series));
  }

  public Report lineChart(LineChart chart) {
    blocks.add(new Line(Objects.requireNonNull(chart, "chart")));
    return this;
  }

  /** A heatmap coloured from its smallest to its largest finite value (see {@link Heatmap}). */
  public Report heatmap(
      String title,
      List<String> rowLabels,
      List<String> colLabels,
      double[][] values,
      String unit) {
    return heatmap(Heatmap.autoRange(title, rowLabels, colLabels, values, unit));
  }

  public Report heatmap(Heatmap map) {
    blocks.add(new Heat(Objects.requireNonNull(map, "map")));
    return this;
  }

  /** A table without a title. */
  public Report table(List<String> headers, List<List<String>> rows) {
    return table("", headers, rows, Set.of());
  }

  public Report table(String title, List<String> headers, List<List<String>> rows) {
    return table(title, headers, rows, Set.of());
  }

  /**
   * A table; the rows whose indices are in {@code highlighted} are drawn in the warning colour (the
   * tightest sites). Cells that look like numbers are right-aligned.
   */
  public Report table(
      String title, List<String> headers, List<List<String>> rows, Set<Integer> highlighted) {
    Objects.requireNonNull(headers, "headers");
    List<List<String>> copy = new ArrayList<>();
    for (int i = 0; i < rows.size(); i++) {
      List<String> row = rows.get(i);
      if (row.size() != headers.size()) {
        throw new IllegalArgumentException(
            "table '"
                + title
                + "': row "
                + i
                + " has "
                + row.size()
                + " cells for "
                + headers.size()
                + " headers");
      }
      copy.add(row.stream().map(c -> c == null ? "" : c).toList());
    }
    for (int h : highlighted) {
      if (h < 0 || h >= rows.size()) {
        throw new IllegalArgumentException(
            "table '"
                + title
                + "': highlighted row "
                + h
                + " is not one of its "
                + rows.size()
                + " rows");
      }
    }
    blocks.add(
        new Table(
            Objects.requireNonNull(title, "title"),
            List.copyOf(headers),
            copy,
            Set.copyOf(highlighted)));
    return this;
  }

  /**
   * The first-overflow event box: site, op, phase, record, step, the limit crossed, input and
   * output stats, the offending values with their bit patterns, and the chain of ops that followed.
   */
  public Report event(FirstNonFinite first, List<ChainLink> chain) {
    return event("First non-finite value", first, chain);
  }

  /** An event box with its own title (e.g. the first NaN after an overflow: the propagator). */
  public Report event(String title, FirstNonFinite first, List<ChainLink> chain) {
    blocks.add(
        new Event(
            Objects.requireNonNull(title, "title"),
            Objects.requireNonNull(first, "first"),
            List.copyOf(chain),
            Map.of()));
    return this;
  }

  /**
   * An event box from plain fields (e.g. a fallback switch or an event read back from JSON); values
   * that are collections are listed one item per line.
   */
  public Report event(String title, Map<String, ?> fields) {
    blocks.add(
        new Event(
            Objects.requireNonNull(title, "title"), null, List.of(), new LinkedHashMap<>(fields)));
    return this;
  }

  /**
   * A bulleted list (e.g. the fallback switches: {@code falling back to fp32 at edit 3 step 16:
   * …}).
   */
  public Report list(String title, List<String> items) {
    blocks.add(new Items(Objects.requireNonNull(title, "title"), List.copyOf(items)));
    return this;
  }

  /**
   * A file to copy beside the report (as {@code NAME-<file name>}) and link from it, e.g. the JSON
   * Lines trace. The file must exist when {@link #write} runs.
   */
  public Report attach(Path file, String description) {
    blocks.add(
        new Attachment(
            Objects.requireNonNull(file, "file"),
            Objects.requireNonNull(description, "description")));
    return this;
  }

  /**
   * Writes the PNGs, the attachments and then the HTML (each atomically) and returns every file
   * written, the HTML last. Throws {@link UncheckedIOException} naming the file that could not be
   * written, {@link IllegalArgumentException} when an attachment does not exist.
   */
  public List<Path> write(Path html) {
    Path abs = html.toAbsolutePath();
    String name = abs.getFileName().toString();
    String stem =
        name.toLowerCase(java.util.Locale.ROOT).endsWith(".html")
            ? name.substring(0, name.length() - 5)
            : name.toLowerCase(java.util.Locale.ROOT).endsWith(".htm")
                ? name.substring(0, name.length() - 4)
                : name;
    Path dir = abs.getParent();
    for (Block b : blocks) {
      if (b instanceof Attachment a && !Files.isRegularFile(a.file())) {
        throw new IllegalArgumentException(
            "cannot attach " + a.file() + " to the report: no such file");
      }
    }
    List<Path> written = new ArrayList<>();
    StringBuilder body = new StringBuilder();
    StringBuilder toc = new StringBuilder();
    int plot = 0, section = 0;
    boolean open = false;
    for (Block b : blocks) {
      switch (b) {
        case Heading h -> {
          if (open) {
            body.append("</section>\n");
          }
          section++;
          body.append("<section id=\"s")
              .append(section)
              .append("\">\n<h2>")
              .append(esc(h.text()))
              .append("</h2>\n");
          toc.append("<li><a href=\"#s")
              .append(section)
              .append("\">")
              .append(esc(h.text()))
              .append("</a></li>\n");
          open = true;
        }
        case Paragraph p -> {
          for (String para : p.text().strip().split("\\n\\s*\\n")) {
            body.append("<p>").append(esc(para.strip())).append("</p>\n");
          }
        }
        case Preformatted p -> {
          body.append("<div class=\"block pre\">");
          caption(body, p.title());
          body.append("<pre>").append(esc(p.text().stripTrailing())).append("</pre></div>\n");
        }
        case Line l -> {
          plot++;
          Path png =
              dir.resolve(
                  String.format(
                      java.util.Locale.ROOT,
                      "%s-%02d-%s.png",
                      stem,
                      plot,
                      Text.slug(l.chart().title())));
          writeAtomically(png, Png.lineChart(l.chart()));
          written.add(png);
          figure(body, "line-chart", Svg.lineChart(l.chart()), png, l.chart().title());
        }
        case Heat h -> {
          plot++;
          Path png =
              dir.resolve(
                  String.format(
                      java.util.Locale.ROOT,
                      "%s-%02d-%s.png",
                      stem,
                      plot,
                      Text.slug(h.map().title())));
          writeAtomically(png, Png.heatmap(h.map()));
          written.add(png);
          figure(body, "heatmap", Svg.heatmap(h.map()), png, h.map().title());
        }
        case Table t -> table(body, t);
        case Event e -> event(body, e);
        case Items i -> {
          body.append("<div class=\"block list\">");
          caption(body, i.title());
          if (i.items().isEmpty()) {
            body.append("<p class=\"none\">(none)</p>");
          } else {
            body.append("<ul>");
            i.items().forEach(s -> body.append("<li>").append(esc(s)).append("</li>"));
            body.append("</ul>");
          }
          body.append("</div>\n");
        }
        case Attachment a -> {
          Path target = dir.resolve(stem + "-" + a.file().getFileName());
          try {
            if (!Files.exists(target) || !Files.isSameFile(a.file(), target)) {
              writeAtomically(target, Files.readAllBytes(a.file()));
            }
          } catch (IOException ex) {
            throw new UncheckedIOException(
                "could not copy " + a.file() + " to " + target + ": " + ex.getMessage(), ex);
          }
          written.add(target);
          body.append("<div class=\"block attachment\"><p>")
              .append(esc(a.description()))
              .append(": <a href=\"")
              .append(esc(target.getFileName().toString()))
              .append("\">")
              .append(esc(target.getFileName().toString()))
              .append("</a></p></div>\n");
        }
      }
    }
    if (open) {
      body.append("</section>\n");
    }
    StringBuilder page = new StringBuilder(body.length() + 4096);
    page.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
        .append(
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>")
        .append(esc(title))
        .append("</title>\n<style>\n")
        .append(CSS)
        .append("</style>\n</head>\n<body>\n<h1>")
        .append(esc(title))
        .append("</h1>\n");
    if (!toc.isEmpty()) {
      page.append("<nav><ol>\n").append(toc).append("</ol></nav>\n");
    }
    page.append(body)
        .append("<footer>Written by nanscope. Self-contained: inline SVG and CSS, no scripts, no")
        .append(
            " external references; PNG copies of the plots and attached files sit beside this page.</footer>\n")
        .append("</body>\n</html>\n");
    writeAtomically(abs, page.toString().getBytes(StandardCharsets.UTF_8));
    written.add(abs);
    return List.copyOf(written);
  }

  private static void caption(StringBuilder b, String title) {
    if (!title.isEmpty()) {
      b.append("<h3>").append(esc(title)).append("</h3>");
    }
  }

  private static void figure(StringBuilder b, String cls, String svg, Path png, String title) {
    b.append("<figure class=\"block ")
        .append(cls)
        .append("\">\n")
        .append(svg)
        .append("<figcaption>")
        .append(esc(title))
        .append(" · <a href=\"")
        .append(esc(png.getFileName().toString()))
        .append("\">PNG</a>")
        .append("</figcaption>\n</figure>\n");
  }

  private static boolean numeric(String s) {
    return s.matches("[-+−]?(\\d[\\d,]*(\\.\\d*)?|\\.\\d+)([eE][-+]?\\d+)?%?|[-+]?inf|NaN|-|−∞");
  }

  private static void table(StringBuilder b, Table t) {
    b.append("<div class=\"block table\">");
    caption(b, t.title());
    b.append("<table>\n<thead><tr>");
    t.headers().forEach(h -> b.append("<th>").append(esc(h)).append("</th>"));
    b.append("</tr></thead>\n<tbody>\n");
    for (int i = 0; i < t.rows().size(); i++) {
      b.append(t.highlighted().contains(i) ? "<tr class=\"hl\">" : "<tr>");
      for (String c : t.rows().get(i)) {
        b.append(numeric(c.strip()) ? "<td class=\"n\">" : "<td>").append(esc(c)).append("</td>");
      }
      b.append("</tr>\n");
    }
    b.append("</tbody>\n</table></div>\n");
  }

  private static final int MAX_CHAIN_SHOWN = 60;

  private static void event(StringBuilder b, Event e) {
    b.append("<div class=\"block event\">");
    caption(b, e.title());
    b.append("<dl>");
    if (e.first() != null) {
      FirstNonFinite f = e.first();
      var at = f.at();
      dt(b, "where", at.describe());
      dt(b, "site", at.site().name());
      dt(b, "op", at.op());
      dt(b, "phase", at.phaseName());
      if (at.context().record() >= 0) {
        dt(b, "edit record", Integer.toString(at.context().record()));
      }
      dt(b, "step", at.step() >= 0 ? Integer.toString(at.step()) : "-");
      if (!at.context().label().isEmpty()) {
        dt(b, "label", at.context().label());
      }
      dt(
          b,
          "new",
          (f.newInf() ? "inf " : "")
              + (f.newNan() ? "NaN " : "")
              + (f.inputsFinite() ? "from finite inputs" : "from inputs already holding inf"));
      dt(b, "limit crossed", f.limitCrossed());
      dt(b, "role", f.roleLine());
      if (!f.elements().isEmpty()) {
        b.append("<dt>elements</dt><dd><ul>");
        for (var el : f.elements()) {
          b.append("<li><pre>").append(esc(el.describe("").stripTrailing())).append("</pre></li>");
        }
        b.append("</ul></dd>");
      }
    }
    for (Map.Entry<String, ?> kv : e.fields().entrySet()) {
      Object v = kv.getValue();
      if (v instanceof Collection<?> c) {
        b.append("<dt>").append(esc(kv.getKey())).append("</dt><dd><ul>");
        c.forEach(x -> b.append("<li>").append(esc(String.valueOf(x))).append("</li>"));
        b.append("</ul></dd>");
      } else {
        dt(b, kv.getKey(), String.valueOf(v));
      }
    }
    b.append("</dl>\n");
    if (e.first() != null) {
      FirstNonFinite f = e.first();
      List<List<String>> rows = new ArrayList<>();
      for (int i = 0; i < f.inputs().size(); i++) {
        rows.add(statsRow("input " + i, f.inputs().get(i)));
      }
      rows.add(statsRow("output", f.output()));
      table(
          b,
          new Table(
              "tensors",
              List.of(
                  "",
                  "format",
                  "max|x|",
                  "headroom (binades)",
                  "NaN",
                  "inf",
                  "subnormal",
                  "zero",
                  "overflow",
                  "underflow",
                  "unrounded max|x|"),
              rows,
              Set.of(rows.size() - 1)));
      List<List<String>> off = new ArrayList<>();
      for (OffendingValue v : f.offending()) {
        StringBuilder coords = new StringBuilder("[");
        for (int i = 0; i < v.coordinates().length; i++) {
          coords.append(i == 0 ? "" : ", ").append(v.coordinates()[i]);
        }
        off.add(
            List.of(
                Long.toString(v.index()),
                coords.append(']').toString(),
                Text.human(v.value()),
                v.bits().hex(),
                v.bits().fields(),
                Text.human(v.unrounded())));
      }
      table(
          b,
          new Table(
              "offending values",
              List.of(
                  "index", "coordinates", "stored", "bits", "sign exponent mantissa", "unrounded"),
              off,
              Set.of()));
      b.append("<h3>chain that followed</h3>");
      if (e.chain().isEmpty()) {
        b.append("<p class=\"none\">(not recorded)</p>");
      } else {
        b.append("<ol class=\"chain\">");
        for (int i = 0; i < Math.min(MAX_CHAIN_SHOWN, e.chain().size()); i++) {
          ChainLink l = e.chain().get(i);
          b.append(l.origin() ? "<li class=\"origin\">" : "<li>")
              .append(esc(l.describe()))
              .append("</li>");
        }
        b.append("</ol>");
        if (e.chain().size() > MAX_CHAIN_SHOWN) {
          b.append("<p>… ")
              .append(e.chain().size() - MAX_CHAIN_SHOWN)
              .append(" more links (see the JSON Lines trace)</p>");
        }
      }
      b.append("<details><summary>plain-text report</summary><pre>")
          .append(esc(f.report().stripTrailing()))
          .append("</pre></details>");
    }
    b.append("</div>\n");
  }

  private static List<String> statsRow(String what, TensorStats s) {
    boolean u = s.hasUnrounded();
    return List.of(
        what,
        s.format().name(),
        Text.human(s.maxAbs()),
        Text.num(s.headroom()),
        Long.toString(s.nan()),
        Long.toString(s.infinities()),
        Long.toString(s.subnormal()),
        Long.toString(s.zero()),
        u ? Long.toString(s.overflow()) : "-",
        u ? Long.toString(s.underflow()) : "-",
        u ? Text.human(s.unroundedMaxAbs()) : "-");
  }

  private static void dt(StringBuilder b, String k, String v) {
    b.append("<dt>").append(esc(k)).append("</dt><dd>").append(esc(v)).append("</dd>");
  }

  /** Writes bytes through a temporary sibling and an atomic rename. */
  static void writeAtomically(Path file, byte[] bytes) {
    AtomicFile.write(file, bytes);
  }

  private static final String CSS =
      """
      body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#222;line-height:1.45}
      h1{font-size:1.6em;border-bottom:2px solid #333;padding-bottom:4px}
      h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ccc}
      h3{font-size:1em;margin:0.8em 0 0.3em}
      nav ol{columns:2;font-size:0.95em}
      .block{margin:0.8em 0 1.2em}
      pre{background:#f6f6f6;border:1px solid #ddd;padding:8px;overflow-x:auto;font-size:12px;line-height:1.3}
      table{border-collapse:collapse;font-size:12.5px}
      th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;white-space:nowrap}
      th{background:#eee}
      td.n{text-align:right;font-variant-numeric:tabular-nums}
      tr.hl td{background:#fde0c5}
      div.table{overflow-x:auto}
      figure{margin:0.8em 0}
      figcaption{font-size:0.85em;color:#555}
      svg text{font-family:"DejaVu Sans",Arial,sans-serif}
      svg .title{font-size:14px;font-weight:bold}
      svg .tick{font-size:11px;fill:#333}
      svg .axis{font-size:12px;fill:#222}
      svg .legend{font-size:12px;fill:#222}
      svg .grid{stroke:#e3e3e3;stroke-width:1}
      svg .frame{fill:none;stroke:#555;stroke-width:1}
      svg .nonfinite{fill:#d62728;stroke:none}
      svg .nonfinite-label{font-size:11px;fill:#d62728;font-weight:bold}
      svg .cellv{font-size:10px}
      .event{border:2px solid #d62728;border-radius:6px;padding:6px 12px;background:#fff8f8}
      .event dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0.4em 0}
      .event dt{font-weight:bold}
      .event dd{margin:0;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:0.9em}
      ol.chain{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
      ol.chain li.origin{color:#b00;font-weight:bold}
      .none{color:#777}
      footer{margin-top:3em;font-size:0.8em;color:#777;border-top:1px solid #ddd;padding-top:6px}
      """;
}
