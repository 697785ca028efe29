package io.nanscope.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.Mul;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.AnomalyTracer;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.TraceContext;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

class ReportTest {

  static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};

  /**
   * Parses the page as XML: the writer emits well-formed markup (every tag closed, only numeric
   * entities).
   */
  static Document parse(Path html) throws Exception {
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", false);
    f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
    return f.newDocumentBuilder().parse(html.toFile());
  }

  static List<Element> all(Node root, String tag) {
    NodeList nl =
        root instanceof Document d
            ? d.getElementsByTagName(tag)
            : ((Element) root).getElementsByTagName(tag);
    List<Element> out = new ArrayList<>();
    for (int i = 0; i < nl.getLength(); i++) {
      out.add((Element) nl.item(i));
    }
    return out;
  }

  static List<Element> withClass(Document d, String tag, String cls) {
    return all(d, tag).stream()
        .filter(e -> List.of(e.getAttribute("class").split(" ")).contains(cls))
        .toList();
  }

  /**
   * No external reference anywhere: no URL scheme in any src/href/xlink attribute, no CSS url(),
   * no @import, no script element; links are relative file names that exist beside the page.
   */
  static void assertSelfContained(Path html) throws Exception {
    String text = Files.readString(html, StandardCharsets.UTF_8);
    assertThat(text)
        .doesNotContainIgnoringCase("http:")
        .doesNotContainIgnoringCase("https:")
        .doesNotContain("url(")
        .doesNotContain("@import")
        .doesNotContainIgnoringCase("<script")
        .doesNotContain("//");
    Document d = parse(html);
    for (String tag :
        List.of("img", "link", "script", "iframe", "object", "embed", "image", "use")) {
      assertThat(all(d, tag)).as(tag).isEmpty();
    }
    for (Element a : all(d, "a")) {
      String href = a.getAttribute("href");
      if (href.startsWith("#")) {
        assertThat(
                d.getElementById(href.substring(1)) != null
                    || !all(d, "section").stream()
                        .filter(s -> s.getAttribute("id").equals(href.substring(1)))
                        .toList()
                        .isEmpty())
            .as(href)
            .isTrue();
      } else {
        assertThat(href).doesNotContain("/").doesNotContain(":");
        assertThat(html.resolveSibling(href)).as(href).isRegularFile();
      }
    }
  }

  static BufferedImage readPng(Path p) throws IOException {
    byte[] bytes = Files.readAllBytes(p);
    assertThat(bytes).startsWith(PNG_SIGNATURE);
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(bytes));
    assertThat(img).as(p.toString()).isNotNull();
    return img;
  }

  /** A real FP16 overflow from the engine's Mul op: 255.875 · 261.75 = 66,975.28 > 65,504. */
  static AnomalyTracer overflow() {
    AnomalyTracer tracer =
        AnomalyTracer.recording(new TraceContext().setRecord(2).setStep(16).setLabel("fp16"));
    OpContext ctx = OpContext.DEFAULT.withTracer(tracer);
    Precision fp16 = new Precision(FloatFormat.FP16, FloatFormat.FP32, FloatFormat.FP32);
    Tensor a = Tensor.of(FloatFormat.FP16, Shape.of(1, 2), 255.875f, 3f);
    Tensor b = Tensor.of(FloatFormat.FP16, Shape.of(1, 2), 261.75f, 2f);
    Tensor m = Mul.forward(ctx, new Site("layers.4.mlp.act_mul_up"), fp16, a, b);
    Mul.forward(
        ctx,
        new Site("layers.4.mlp.after"),
        fp16,
        m,
        Tensor.of(FloatFormat.FP16, Shape.of(1, 2), 0f, 1f));
    return tracer;
  }

  @Test
  void writesOneSelfContainedPageWithEverySectionAndValidPngsBesideIt(@TempDir Path tmp)
      throws Exception {
    Path jsonl = tmp.resolve("in").resolve("trace.jsonl");
    Files.createDirectories(jsonl.getParent());
    Files.writeString(jsonl, "{\"type\":\"site_stats\"}\n");
    AnomalyTracer tracer = overflow();
    assertThat(tracer.first()).isPresent();
    Map<String, double[]> loss = new LinkedHashMap<>();
    loss.put("fp32", new double[] {3.0, 2.0, 1.0, 0.5});
    loss.put("fp16", new double[] {3.0, 2.1, Double.NaN, Double.NaN});
    Report r =
        new Report("test <report> & \"quotes\"")
            .heading("Scenario")
            .text("first paragraph\n\nsecond paragraph with <b>markup</b>")
            .pre("policy", "policy fp32\n  matmul  fp32")
            .lineChart("loss per step", "step", "loss", loss)
            .heatmap(
                new Heatmap(
                    "headroom",
                    List.of("mlp.down_proj", "lm_head"),
                    List.of("L0", "L1", "model"),
                    new double[][] {{0, 8, Double.NaN}, {Double.NEGATIVE_INFINITY, Double.NaN, 16}},
                    "binades",
                    0,
                    16))
            .heading("Tables")
            .table(
                "sweep",
                List.of("peak", "fp16"),
                List.of(List.of("0.5", "none"), List.of("0.95", "edit 12")),
                Set.of(1))
            .event(tracer.first().orElseThrow(), tracer.chain())
            .event(
                "fallback",
                Map.of(
                    "switch", "falling back to fp32 at edit 3 step 16", "links", List.of("a", "b")))
            .list("fallback switches", List.of("falling back to fp32 at edit 3 step 16: loss nan"))
            .attach(jsonl, "the JSON Lines trace");
    Path html = tmp.resolve("out").resolve("report.html");
    List<Path> written = r.write(html);

    assertThat(written.getLast()).isEqualTo(html.toAbsolutePath());
    assertThat(written)
        .extracting(p -> p.getFileName().toString())
        .containsExactly(
            "report-01-loss-per-step.png",
            "report-02-headroom.png",
            "report-trace.jsonl",
            "report.html");
    try (Stream<Path> s = Files.list(html.getParent())) {
      assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
          .as("no temporary file left behind")
          .containsExactly(
              "report-01-loss-per-step.png",
              "report-02-headroom.png",
              "report-trace.jsonl",
              "report.html");
    }
    assertThat(Files.readString(html.resolveSibling("report-trace.jsonl")))
        .isEqualTo("{\"type\":\"site_stats\"}\n");
    assertSelfContained(html);
    BufferedImage line = readPng(written.get(0));
    assertThat(line.getWidth()).isGreaterThan(400);
    readPng(written.get(1));

    Document d = parse(html);
    assertThat(all(d, "title").getFirst().getTextContent()).isEqualTo("test <report> & \"quotes\"");
    assertThat(all(d, "h2"))
        .extracting(Element::getTextContent)
        .containsExactly("Scenario", "Tables");
    assertThat(all(d, "section")).hasSize(2);
    assertThat(all(d, "p"))
        .extracting(Element::getTextContent)
        .contains("first paragraph", "second paragraph with <b>markup</b>");
    assertThat(withClass(d, "figure", "line-chart")).hasSize(1);
    assertThat(withClass(d, "figure", "heatmap")).hasSize(1);
    assertThat(withClass(d, "div", "event")).hasSize(2);
    assertThat(all(d, "svg")).hasSize(2);
    // The table's highlighted row.
    assertThat(
            all(d, "tr").stream()
                .filter(e -> e.getAttribute("class").equals("hl"))
                .map(Element::getTextContent))
        .contains("0.95edit 12");
    // The event box holds the site, the limit crossed, the bits and the chain.
    Element event = withClass(d, "div", "event").getFirst();
    String ev = event.getTextContent();
    assertThat(ev)
        .contains("layers.4.mlp.act_mul_up")
        .contains("forward")
        .contains("0x7c00")
        .contains("0 11111 0000000000")
        .contains("|x| = 66,975.281 > maxFinite 65,504 of fp16")
        .contains("66,975.28")
        .isNotNull();
    assertThat(all(event, "li"))
        .extracting(Element::getTextContent)
        .anySatisfy(t -> assertThat(t).contains("layers.4.mlp.after"));
  }

  @Test
  void lineChartBreaksAtNonFiniteValuesAndPlacesPointsOnTheAxes(@TempDir Path tmp)
      throws Exception {
    Map<String, double[]> s = new LinkedHashMap<>();
    s.put("a", new double[] {0, 1, Double.NaN, 3, 4});
    s.put("b", new double[] {4, 3});
    Path html = tmp.resolve("r.html");
    new Report("t").lineChart("c", "x", "y", s).write(html);
    Document d = parse(html);
    List<Element> groups =
        all(d, "g").stream().filter(g -> g.getAttribute("class").equals("series")).toList();
    assertThat(groups).extracting(g -> g.getAttribute("data-series")).containsExactly("a", "b");
    List<Element> lines = all(groups.get(0), "polyline");
    assertThat(lines).hasSize(2); // broken at the NaN
    assertThat(all(groups.get(0), "path")).hasSize(1); // the NaN marker
    assertThat(groups.get(0).getTextContent()).contains("NaN");
    // y = x for series a: every point lies on one straight line through the plot (independent of
    // the
    // tick choice): the slope between any two points is the same.
    List<double[]> pts = new ArrayList<>();
    for (Element l : lines) {
      for (String p : l.getAttribute("points").split(" ")) {
        String[] xy = p.split(",");
        pts.add(new double[] {Double.parseDouble(xy[0]), Double.parseDouble(xy[1])});
      }
    }
    assertThat(pts).hasSize(4);
    double slope = (pts.get(3)[1] - pts.get(0)[1]) / (pts.get(3)[0] - pts.get(0)[0]);
    assertThat(slope).isNegative(); // SVG y grows downwards: a rising line has a negative slope
    for (double[] p : pts) {
      assertThat(p[1] - pts.get(0)[1])
          .isCloseTo(slope * (p[0] - pts.get(0)[0]), org.assertj.core.data.Offset.offset(0.02));
    }
    // Same x spacing between consecutive steps 0→1 and 3→4.
    assertThat(pts.get(1)[0] - pts.get(0)[0])
        .isCloseTo(pts.get(3)[0] - pts.get(2)[0], org.assertj.core.data.Offset.offset(0.02));
  }

  @Test
  void manySeriesAndAllNonFiniteSeriesStillRender(@TempDir Path tmp) throws Exception {
    Map<String, double[]> s = new LinkedHashMap<>();
    for (int i = 0; i < 20; i++) {
      s.put("edit #" + (i + 1), new double[] {i, i + 1});
    }
    Path html = tmp.resolve("r.html");
    List<Path> files =
        new Report("t")
            .lineChart("many", "step", "loss", s)
            .lineChart(
                "broken",
                "step",
                "loss",
                Map.of("fp16", new double[] {Double.NaN, Double.POSITIVE_INFINITY}))
            .write(html);
    readPng(files.get(0));
    readPng(files.get(1));
    String page = Files.readString(html);
    // 262 px of plot height fit 14 legend rows of 18 px: 13 names, then a count of the other 7.
    assertThat(page)
        .contains(">edit #13<")
        .doesNotContain(">edit #14<")
        .contains("+ 7 more series");
    Document d = parse(html);
    assertThat(
            all(d, "g").stream()
                .filter(g -> g.getAttribute("data-series").equals("fp16"))
                .findFirst()
                .orElseThrow()
                .getElementsByTagName("polyline")
                .getLength())
        .isZero();
    assertThat(page).contains(">NaN</text>");
  }

  @Test
  void heatmapColoursLowRedHighBlueMinusInfBlackAndLeavesNaNBlank() {
    Heatmap h =
        new Heatmap(
            "h",
            List.of("r"),
            List.of("a", "b", "c", "d"),
            new double[][] {{0, 16, Double.NEGATIVE_INFINITY, Double.NaN}},
            "binades",
            0,
            16);
    assertThat(Text.hex(h.rgb(0))).isEqualTo("#d73027");
    assertThat(Text.hex(h.rgb(16))).isEqualTo("#4575b4");
    assertThat(Text.hex(h.rgb(-3))).isEqualTo("#d73027"); // clamped
    assertThat(h.rgb(Double.NEGATIVE_INFINITY)).isZero();
    assertThat(h.rgb(Double.NaN)).isEqualTo(-1);
    String svg = Svg.heatmap(h);
    assertThat(svg).contains("fill=\"#d73027\"").contains("fill=\"#4575b4\"").contains("−∞");
    assertThat(svg.split("<g class=\"cell\">", -1)).hasSize(4); // 3 cells, the NaN one blank
  }

  @Test
  void badInputIsRefusedWithAMessage(@TempDir Path tmp) {
    assertThatThrownBy(() -> new Report("t").lineChart("c", "x", "y", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no series");
    assertThatThrownBy(() ->
            new Report("t")
                .lineChart("c", "x", "y", new double[] {0}, Map.of("a", new double[] {1, 2})))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1 x values for a series of 2");
    assertThatThrownBy(() ->
            new Report("t")
                .heatmap("h", List.of("r"), List.of("a", "b"), new double[][] {{1}}, "u"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("row 0 has 1 values for 2 column labels");
    assertThatThrownBy(() -> new Report("t").table("t", List.of("a", "b"), List.of(List.of("1"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("row 0 has 1 cells for 2 headers");
    Path html = tmp.resolve("r.html");
    assertThatThrownBy(() ->
            new Report("t").text("x").attach(tmp.resolve("missing.jsonl"), "trace").write(html))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("missing.jsonl");
    assertThat(html).doesNotExist();
  }

  @Test
  void anUnwritableTargetNamesTheFileAndLeavesNothingBehind(@TempDir Path tmp) throws IOException {
    Path blocker = tmp.resolve("file");
    Files.writeString(blocker, "x");
    Path html = blocker.resolve("r.html"); // parent is a regular file
    assertThatThrownBy(() -> new Report("t").text("x").write(html))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining(html.toString());
    try (Stream<Path> s = Files.list(tmp)) {
      assertThat(s.toList()).containsExactly(blocker);
    }
  }

  @Test
  void theSameReportGivesTheSameBytes(@TempDir Path tmp) throws IOException {
    Map<String, double[]> s = Map.of("a", new double[] {1, 2, 3});
    new Report("t").lineChart("c", "x", "y", s).write(tmp.resolve("a.html"));
    new Report("t").lineChart("c", "x", "y", s).write(tmp.resolve("b.html"));
    assertThat(Files.readString(tmp.resolve("a.html")).replace("a-01", "X"))
        .isEqualTo(Files.readString(tmp.resolve("b.html")).replace("b-01", "X"));
  }
}
