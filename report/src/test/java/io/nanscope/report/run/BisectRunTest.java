package io.nanscope.report.run;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.bisect.Bisection;
import io.nanscope.editing.bisect.Observation;
import io.nanscope.editing.bisect.Oracle;
import io.nanscope.editing.bisect.SiteMap;
import io.nanscope.editing.bisect.Widening;
import io.nanscope.editing.repro.Scenario;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.Site;
import io.nanscope.report.Heatmap;
import io.nanscope.report.Report;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bisect report's site map and HTML section, and the replay command line. */
class BisectRunTest {

  /** Fails while layers.1.mlp.down_proj or lm_head runs narrow. */
  static final class StandIn implements Oracle {
    static final List<String> REQUIRED = List.of("layers.1.mlp.down_proj", "lm_head");

    @Override
    public String describe() {
      return "stand-in";
    }

    @Override
    public List<String> sites() {
      return SiteMap.sites(2);
    }

    @Override
    public Observation run(PrecisionPolicy policy, boolean traced) {
      Optional<String> narrow =
          REQUIRED.stream()
              .filter(s -> policy.of(OpKind.MATMUL, new Site(s)).output() != FloatFormat.FP32)
              .findFirst();
      return new Observation(
          narrow.map(s -> "inf at " + s),
          Map.of("final loss edit 0", 1.0),
          List.of(),
          narrow.map(List::of).orElse(List.of()),
          List.of());
    }
  }

  @Test
  void theSiteMapMarksTheMinimalSetAndTheReportDrawsIt(@TempDir Path dir) throws Exception {
    StandIn oracle = new StandIn();
    Bisection b =
        new Bisection(
            oracle,
            new Bisection.Settings(new Widening("pytorch-fp16", FloatFormat.FP32), 0.25, 0.25),
            t -> {});
    Bisection.Result r = b.search();
    assertThat(r.minimal())
        .hasValueSatisfying(m -> assertThat(m).hasSameElementsAs(StandIn.REQUIRED));

    Heatmap map = BisectRun.siteMap(r, oracle);
    assertThat(map.colLabels()).containsExactly("L0", "L1", "model");
    int down = map.rowLabels().indexOf("mlp.down_proj");
    int head = map.rowLabels().indexOf("lm_head");
    assertThat(map.values()[down][1]).isZero();
    assertThat(map.values()[down][0]).isEqualTo(1);
    assertThat(map.values()[head][2]).isZero();
    assertThat(map.values()[head][0]).isNaN(); // lm_head is not a site of layer 0
    long zeros =
        java.util.Arrays.stream(map.values())
            .flatMapToDouble(java.util.Arrays::stream)
            .filter(v -> v == 0)
            .count();
    assertThat(zeros).isEqualTo(2);

    Report html = new Report("bisect");
    BisectRun.addToReport(html, r, b.trials(), "name: x\n", oracle, r.minimality().getFirst());
    Path page = dir.resolve("b.html");
    html.write(page);
    assertThat(Files.readString(page))
        .contains("Precision bisection")
        .contains("trials, in the order run")
        .contains("minimal set: 0 = runs in fp32")
        .contains("<svg");
  }

  @Test
  void theReplayCommandNamesOnlyWhatDiffersFromTheDefaults() {
    BisectRun.Settings s =
        new BisectRun.Settings(
            "disabling-edit",
            Path.of("m"),
            Path.of("h.yaml"),
            Path.of("d.json"),
            1,
            42,
            "pytorch-fp16",
            "fp32",
            0.25,
            0.25,
            "bare",
            false,
            1,
            null,
            0.92,
            "late",
            1,
            60,
            24,
            256,
            null,
            null,
            null,
            Path.of(""),
            Set.of("model", "hparams", "data"));
    assertThat(BisectRun.replayCommand(s, Scenario.DISABLING_EDIT, Path.of("p.yaml")))
        .isEqualTo(
            "./nanscope repro --scenario disabling-edit --no-sweep --ds-size 1 --context bare"
                + " --policy p.yaml");
    assertThat(BisectRun.replayCommand(s, Scenario.STRESS, Path.of("p.yaml")))
        .isEqualTo(
            "./nanscope bisect --scenario stress --mlp-peak 0.92 --edits 60 --context bare"
                + " --replay p.yaml");
  }
}
