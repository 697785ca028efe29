package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonLinesTest {

  static final String TRICKY = "q\"b\\s/n\nr\rt\tc\u0001\u001f é 中 \u2028 end";

  @Test
  void escapesEveryCharacterJsonRequires() {
    String s =
        Json.object()
            .put("k", TRICKY)
            .put("x", Double.NaN)
            .put("y", Float.NEGATIVE_INFINITY)
            .put("z", 1e-8)
            .put("f", 65504f)
            .put("n", (String) null)
            .toString();
    assertThat(s)
        .isEqualTo(
            "{\"k\":\"q\\\"b\\\\s/n\\nr\\rt\\tc\\u0001\\u001f é 中 \\u2028 end\",\"x\":\"NaN\","
                + "\"y\":\"-Infinity\",\"z\":1.0E-8,\"f\":65504.0,\"n\":null}");
  }

  /**
   * python3's json module is the independent parser: it must read every line, give back the tricky
   * string code point for code point, and see the numbers we wrote.
   */
  @Test
  void python3JsonModuleParsesEventsAndStats(@TempDir Path dir) throws Exception {
    assumeThat(python3Available()).as("python3 on PATH").isTrue();
    AnomalyTracer anomaly = AnomalyTracer.recording(new TraceContext().setLabel(TRICKY));
    StatsTracer stats = new StatsTracer(new TraceContext().setLabel(TRICKY));
    Tracer both = CompositeTracer.of(anomaly, stats);
    Tensor in = Tensor.of(FloatFormat.FP16, Shape.of(2), 300f, 300f);
    Tensor u = Tensor.of(FloatFormat.FP32, Shape.of(2), 90000f, 1e-9f);
    Tensor out = Tensor.of(FloatFormat.FP16, Shape.of(2), 90000f, 1e-9f);
    both.record(
        new OpRecord(
            new Site("layers.3.mlp.swiglu"), "swiglu", Phase.FORWARD, 2, List.of(in), out, u));
    Path events = dir.resolve("events.jsonl");
    Path rows = dir.resolve("stats.jsonl");
    anomaly.writeJsonl(events);
    stats.writeJsonl(rows);
    assertThat(dir.toFile().list()).containsExactlyInAnyOrder("events.jsonl", "stats.jsonl");

    String script =
        "import json,sys\n"
            + "ev=[json.loads(l) for l in open(sys.argv[1],encoding='utf-8')]\n"
            + "st=[json.loads(l) for l in open(sys.argv[2],encoding='utf-8')]\n"
            + "e=ev[0]\n"
            + "print(e['type'],e['site'],e['phase'],e['step'],e['output']['overflow'],"
            + "e['output']['underflow'],e['offending'][0]['bits'],e['offending'][0]['unrounded'])\n"
            + "print(len(ev),[x['type'] for x in ev],st[0]['type'],st[0]['layer'],"
            + "float(st[0]['output']['pos_inf']),st[0]['headroom_fp16'])\n"
            + "print(' '.join(str(ord(c)) for c in e['label']))\n";
    List<String> out2 = runPython(script, events, rows);
    assertThat(out2.get(0))
        .isEqualTo("first_non_finite layers.3.mlp.swiglu forward 2 1 1 0x7c00 90000.0");
    assertThat(out2.get(1)).isEqualTo("2 ['first_non_finite', 'chain'] site_stats 3 1.0 -Infinity");
    assertThat(out2.get(2))
        .isEqualTo(String.join(" ", TRICKY.codePoints().mapToObj(Integer::toString).toList()));
  }

  static boolean python3Available() {
    try {
      Process p = new ProcessBuilder("python3", "-c", "pass").redirectErrorStream(true).start();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  static List<String> runPython(String script, Path... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("python3", "-c", script));
    for (Path a : args) {
      cmd.add(a.toString());
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out.lines().toList();
  }

  @Test
  void writeReplacesAtomicallyAndLeavesNoTemporaryFile(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("sub/out.jsonl");
    JsonLines.write(f, List.of(Json.object().put("a", 1L)));
    JsonLines.write(f, List.of(Json.object().put("a", 2L), Json.object().put("b", true)));
    assertThat(Files.readString(f)).isEqualTo("{\"a\":2}\n{\"b\":true}\n");
    assertThat(f.getParent().toFile().list()).containsExactly("out.jsonl");
  }
}
