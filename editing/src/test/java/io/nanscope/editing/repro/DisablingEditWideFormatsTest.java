package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/**
 * The same disabling edit in BF16 and FP32 (1 edit each, bare context): the values FP16 cannot hold
 * (≈ 6.5e4 and more at the down_proj output) fit in BF16's and FP32's range, so both finish with
 * every value finite — and the model is destroyed (its NLL of the probe story explodes), which the
 * table must say.
 */
class DisablingEditWideFormatsTest {

  @Test
  void bf16AndFp32FinishButCollapse() throws Exception {
    ReproFixture f = new ReproFixture();
    for (String policy : new String[] {"pytorch-bf16", "fp32"}) {
      RunResult r =
          ReproPipeline.run(
              f.source(),
              f.tok,
              f.settings(1, true, OptionalDouble.of(ReproFixture.OVERRIDE), false),
              ReproPipeline.Mode.fixed(policy),
              text -> {});
      assertThat(r.finished()).as(policy).isTrue();
      assertThat(r.anomaly().first()).as(policy).isEmpty();
      assertThat(r.totalNonFiniteWeights()).as(policy).isZero();
      assertThat(ReproFixture.nonFiniteFromBits(f.loaded.getLast().writableDownProj(1)))
          .as(policy)
          .isZero();
      assertThat(r.records().getFirst().post()).as(policy).isPresent();
      assertThat(r.collapsed())
          .as(
              policy
                  + ": story NLL "
                  + r.preStoryNll()
                  + " -> "
                  + r.records().getFirst().storyNll())
          .isTrue();
      assertThat(ReproReport.comparisonTable(java.util.List.of(r)))
          .contains("COLLAPSED")
          .contains("finished");
    }
  }
}
