package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.trace.Phase;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/**
 * The natural scenario (3 edits, bare context, record 0): FP16 and FP32 finish with every value
 * finite; the edit's forwards keep many binades of FP16 headroom (findings Part A: ≥ 6); FP16's
 * backward loses gradient values to underflow; the same run twice prints the same text.
 */
class NaturalScenarioTest {

  @Test
  void fp16FinishesWithHeadroomUnderflowsInTheBackwardAndIsDeterministic() throws Exception {
    ReproFixture f = new ReproFixture();
    List<String> log1 = new ArrayList<>();
    List<String> log2 = new ArrayList<>();
    ReproPipeline.Mode fp16 = ReproPipeline.Mode.fixed("pytorch-fp16");
    RunResult a =
        ReproPipeline.run(
            f.source(), f.tok, f.settings(1, false, OptionalDouble.empty(), true), fp16, log1::add);
    RunResult b =
        ReproPipeline.run(
            f.source(), f.tok, f.settings(1, false, OptionalDouble.empty(), true), fp16, log2::add);
    RunResult c =
        ReproPipeline.run(
            f.source(),
            f.tok,
            f.settings(1, false, OptionalDouble.empty(), true),
            ReproPipeline.Mode.fixed("fp32"),
            text -> {});

    for (RunResult r : List.of(a, c)) {
      assertThat(r.finished()).as(r.label()).isTrue();
      assertThat(r.anomaly().first()).as(r.label()).isEmpty();
      assertThat(r.totalNonFiniteWeights()).isZero();
      assertThat(r.collapsed()).isFalse();
      assertThat(r.records().getFirst().steps()).allMatch(s -> Double.isFinite(s.loss()));
    }
    double fwd = ReproReport.minHeadroom(a.headroom(), Phase.FORWARD, FloatFormat.FP16);
    assertThat(fwd).as("tightest forward FP16 headroom, binades").isGreaterThan(5);
    long under =
        a.headroom().stream()
            .filter(s -> s.at().phase() == Phase.BACKWARD)
            .mapToLong(s -> s.output().underflow())
            .sum();
    assertThat(under).as("FP16 gradient values rounded to 0").isPositive();
    assertThat(ReproReport.headroom(a))
        .contains("backward underflow:")
        .contains("forward  largest |x|");
    // FP16 underflow does not derail the edit: same final loss as FP32 within 0.05.
    assertThat(a.records().getFirst().finalLoss())
        .isCloseTo(c.records().getFirst().finalLoss(), within(0.05));

    // Determinism: same log, same numbers, same table, same conclusion.
    assertThat(log2).isEqualTo(log1);
    assertThat(b.records().getFirst().steps()).isEqualTo(a.records().getFirst().steps());
    assertThat(ReproReport.comparisonTable(List.of(b)))
        .isEqualTo(ReproReport.comparisonTable(List.of(a)));
    assertThat(ReproReport.headroom(b)).isEqualTo(ReproReport.headroom(a));
    assertThat(ReproConclusion.natural(List.of(b, c)))
        .isEqualTo(ReproConclusion.natural(List.of(a, c)))
        .contains("finished with every value finite");
  }
}
