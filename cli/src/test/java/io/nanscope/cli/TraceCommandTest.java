package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.op.OpKind;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class TraceCommandTest {

  static final String MODEL = ConvertAndSynthCommandTest.STORIES.toString();
  static final String PROMPT = "Once upon a time, there was a little girl named Lily.";

  /** The page parses as XML, references nothing outside its directory, and its PNGs decode. */
  static Document checkReport(Path html, int expectedPngs) throws Exception {
    String text = Files.readString(html, StandardCharsets.UTF_8);
    assertThat(text)
        .startsWith("<!DOCTYPE html>")
        .doesNotContain("http:")
        .doesNotContain("https:")
        .doesNotContain("url(")
        .doesNotContainIgnoringCase("<script")
        .doesNotContain("<img");
    DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
    Document d = f.newDocumentBuilder().parse(html.toFile());
    NodeList links = d.getElementsByTagName("a");
    int pngs = 0;
    for (int i = 0; i < links.getLength(); i++) {
      String href = ((Element) links.item(i)).getAttribute("href");
      if (!href.startsWith("#")) {
        assertThat(href).doesNotContain("/");
        Path p = html.resolveSibling(href);
        assertThat(p).isRegularFile();
        if (href.endsWith(".png")) {
          pngs++;
          byte[] b = Files.readAllBytes(p);
          assertThat(b).startsWith(0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a);
          assertThat(ImageIO.read(new ByteArrayInputStream(b))).isNotNull();
        }
      }
    }
    assertThat(pngs).isEqualTo(expectedPngs);
    return d;
  }

  static long count(Document d, String tag, String cls) {
    NodeList nl = d.getElementsByTagName(tag);
    long n = 0;
    for (int i = 0; i < nl.getLength(); i++) {
      n += List.of(((Element) nl.item(i)).getAttribute("class").split(" ")).contains(cls) ? 1 : 0;
    }
    return n;
  }

  @Test
  void printsThePolicyTheTableAndWritesJsonlAndAReport(@TempDir Path tmp) throws Exception {
    Path jsonl = tmp.resolve("t.jsonl");
    Path html = tmp.resolve("rep").resolve("trace.html");
    MainTest.Result r =
        MainTest.run(
            "trace",
            "--model",
            MODEL,
            "--prompt",
            PROMPT,
            "--policy",
            "pytorch-fp16",
            "--backward",
            "--jsonl",
            jsonl.toString(),
            "--report",
            html.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("policy pytorch-fp16 (storage fp16)")
        .contains("16 tokens")
        .contains("forward + backward of the next-token NLL");
    for (OpKind k : OpKind.values()) {
      assertThat(r.out()).contains("  " + k.configName() + " ");
    }
    assertThat(r.out())
        .contains("headroom fp16")
        .containsPattern("(?m)^<1 ")
        .containsPattern("(?m)^<5 ")
        .contains("tightest forward site in fp16: layers.")
        .contains("tightest backward site in fp16: ")
        .containsPattern(
            "backward totals over \\d+ sites, [\\d,]+ elements: overflow 0, underflow [1-9]")
        .contains("no op produced a NaN or an inf")
        .contains("floor headroom (underflow): the 6 sites nearest FP16's bottom")
        .containsPattern("floor fp16 subnormal +floor fp16 normal +flushed to 0 +flushed %")
        .contains("trace written to " + jsonl)
        .contains("report written to " + html);
    List<String> lines = Files.readAllLines(jsonl);
    assertThat(lines)
        .isNotEmpty()
        .allSatisfy(l -> assertThat(l).startsWith("{\"type\":\"site_stats\""));
    Document d = checkReport(html, 5);
    // forward and backward headroom, then forward and backward floor headroom
    assertThat(count(d, "figure", "heatmap")).isEqualTo(4);
    assertThat(count(d, "figure", "line-chart")).isEqualTo(1);
    assertThat(count(d, "tr", "hl")).isEqualTo(5);
    try (Stream<Path> s = Files.list(html.getParent())) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".jsonl")).toList())
          .containsExactly("trace-t.jsonl");
    }
    assertThat(Files.readAllLines(html.resolveSibling("trace-t.jsonl"))).isEqualTo(lines);
  }

  @Test
  void forwardOnlyWithoutJsonlStillAttachesATraceAndLeavesNoTemporaryFile(@TempDir Path tmp)
      throws Exception {
    Path html = tmp.resolve("r.html");
    MainTest.Result r =
        MainTest.run(
            "trace",
            "--model",
            MODEL,
            "--prompt",
            "Tom",
            "--policy",
            "naive-fp16",
            "--report",
            html.toString(),
            "--tightest",
            "0");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).doesNotContainPattern("(?m)^<1 ").doesNotContain("backward totals");
    Document d = checkReport(html, 3);
    assertThat(count(d, "figure", "heatmap")).isEqualTo(2); // headroom and floor headroom
    assertThat(html.resolveSibling("r-trace.jsonl")).isRegularFile();
  }

  @Test
  void badInputIsOneLineExitTwoAndWritesNothing(@TempDir Path tmp) throws Exception {
    Path file = tmp.resolve("a-file");
    Files.writeString(file, "x");
    List<String[]> cases =
        List.of(
            new String[] {"trace", "--model", MODEL, "--prompt", PROMPT, "--policy", "fp17"},
            new String[] {"trace", "--model", MODEL, "--prompt", "  ", "--policy", "fp32"},
            new String[] {"trace", "--model", MODEL, "--prompt", PROMPT},
            new String[] {
              "trace", "--model", MODEL, "--prompt", PROMPT, "--policy", "fp32", "--rank-by", "fp8"
            },
            new String[] {
              "trace",
              "--model",
              MODEL,
              "--prompt",
              PROMPT,
              "--policy",
              "fp32",
              "--report",
              file.resolve("r.html").toString()
            },
            new String[] {
              "trace",
              "--model",
              tmp.resolve("no-model").toString(),
              "--prompt",
              PROMPT,
              "--policy",
              "fp32"
            });
    for (String[] args : cases) {
      MainTest.Result r = MainTest.run(args);
      assertThat(r.code())
          .as(String.join(" ", args) + "\n" + r.err())
          .isEqualTo(Main.EXIT_BAD_INPUT);
      assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
    }
    try (Stream<Path> s = Files.list(tmp)) {
      assertThat(s.toList()).containsExactly(file);
    }
  }

  @Test
  void editReportPlotsLossAndAvgProbOfOneRealEdit(@TempDir Path tmp) throws Exception {
    // One ROME edit (~10 s): the smallest run that exercises the listener hook end to end.
    Path html = tmp.resolve("edit.html");
    MainTest.Result r =
        MainTest.run(
            "edit",
            "--model",
            MODEL,
            "--hparams",
            ConvertAndSynthCommandTest.repoRoot().resolve(EditCommand.DEFAULT_HPARAMS).toString(),
            "--data",
            ConvertAndSynthCommandTest.repoRoot().resolve(EditCommand.DEFAULT_DATA).toString(),
            "--ds-size",
            "1",
            "--no-fluency",
            "--report",
            html.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("report written to " + html);
    Document d = checkReport(html, 2);
    assertThat(count(d, "figure", "line-chart")).isEqualTo(2);
    NodeList series = d.getElementsByTagName("g");
    int circles = 0;
    for (int i = 0; i < series.getLength(); i++) {
      Element g = (Element) series.item(i);
      if (g.getAttribute("class").equals("series")) {
        assertThat(g.getAttribute("data-series")).isEqualTo("edit");
        circles += g.getElementsByTagName("circle").getLength();
      }
    }
    // One point per logged step, in each of the two plots: as many as "loss ... avg prob" lines.
    long steps =
        r.out().lines().filter(l -> l.startsWith("loss ") && l.contains(" avg prob of [")).count();
    assertThat(steps).isPositive();
    assertThat(circles).isEqualTo(2 * steps);
  }
}
