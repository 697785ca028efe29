package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.editing.RepoPaths;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Short sequential stress runs (ROME with only the bare "{}" context, 2 edits, a short fluency
 * generation: the full scenario with EasyEdit's 21 templates and 20 edits takes minutes and runs
 * behind {@code nanscope repro --scenario stress}). One run far from the edge stays finite in every
 * precision; one run whose probe set was too narrow (its "natural" peak underestimates what the
 * ROME prompts produce, so peak 1.0 is exceeded) must show the FP16 overflow in a scaled MLP
 * (up_proj or the SwiGLU product), while FP32 stays finite.
 */
class StressScenarioTest {

  static final Path MODEL = RepoPaths.inRepo("models/stories260K");
  static RomeHyperParams hp;
  static List<EditRequest> records;

  @BeforeAll
  static void load() throws IOException {
    hp = HyperParamsYaml.readRome(RepoPaths.inRepo("configs/rome/stories260K.yaml")).hparams();
    records = EditDatasets.knowEdit(RepoPaths.inRepo("configs/edits/tinystories-edits.json"));
  }

  static StressScenario.Builder quick(List<EditRequest> recs) {
    return StressScenario.Settings.builder(MODEL, hp, recs)
        .policies(List.of("pytorch-fp16", "fp32"))
        .edits(2)
        .sweep(List.of(), 0)
        .sampledTemplates(false)
        .fluencyTokens(12)
        .probe(2, 48);
  }

  @Test
  void farFromTheEdgeEveryPrecisionStaysFinite() {
    List<String> progress = new ArrayList<>();
    List<String> log = new ArrayList<>();
    StressScenario.Report r =
        StressScenario.run(
            quick(records.subList(0, 3))
                .fraction(0.5)
                .sweep(List.of(0.6), 1)
                .progress(progress::add)
                .build(),
            log::add);
    assertThat(r.main().maxRelativeDifference())
        .isLessThanOrEqualTo(Calibration.MAX_RELATIVE_DIFFERENCE);
    assertThat(r.main().outcomes())
        .extracting(StressScenario.Outcome::policy)
        .containsExactly("pytorch-fp16", "fp32");
    for (StressScenario.Outcome o : r.main().outcomes()) {
      assertThat(o.editsRun()).isEqualTo(2);
      assertThat(o.failure()).isEmpty();
      assertThat(o.nanLoss()).isNull();
      assertThat(o.nanWeightsEdit()).isEqualTo(-1);
      assertThat(o.multinomialEdit()).isEqualTo(-1);
      // The SwiGLU product really runs near the calibrated size: above a tenth of 65,504, below the
      // limit.
      assertThat(o.peak()).isBetween(0.1 * Calibration.FP16_MAX, Calibration.FP16_MAX);
      assertThat(o.lastLossLine()).startsWith("loss ").contains("avg prob of [ happy]");
    }
    assertThat(r.sweep()).hasSize(1);
    assertThat(r.sweep().getFirst().outcomes())
        .allSatisfy(o -> assertThat(o.editsRun()).isEqualTo(1));
    assertThat(progress)
        .hasSize(2 * 2 + 2)
        .first()
        .asString()
        .contains("[stress 0.500 pytorch-fp16] edit 1/2 done");
    assertThat(log)
        .contains("Executing ROME algorithm for the update: [Lily's favorite toy is a] -> [ doll]");
    String table = r.table();
    assertThat(table)
        .contains(Calibration.LABEL)
        .contains("WITHOUT restore")
        .contains("pytorch-fp16")
        .contains("sweep over the peak fraction (1 sequential edits each)")
        .contains("none");
    assertThat(r.conclusion())
        .contains("no precision produced a non-finite value in 2 sequential edits")
        .contains("nothing failed at any fraction");
  }

  @Test
  void anUnderestimatedPeakOverflowsInFp16AtTheScaledMlpButNotInFp32() {
    // Probe = the first record's two prompts only: the ROME batches of that record reach further.
    StressScenario.Report r =
        StressScenario.run(
            quick(records.subList(0, 1)).fraction(1).probe(0, 2).build(), EditLog.NONE);
    StressScenario.Outcome fp16 = r.main().outcomes().get(0);
    StressScenario.Outcome fp32 = r.main().outcomes().get(1);
    assertThat(fp16.failure()).isPresent();
    StressScenario.Failure f = fp16.failure().orElseThrow();
    assertThat(f.edit()).isEqualTo(1);
    // The scaled layers' up projection (×a_l) or the product silu(gate)·up: both sit at the
    // calibrated size.
    assertThat(f.event().at().site().name()).matches("layers\\.[34]\\.mlp\\.(up_proj|act_mul_up)");
    assertThat(f.event().at().phaseName()).isEqualTo("forward");
    assertThat(f.event().inputsFinite()).isTrue();
    assertThat(f.event().limitCrossed()).contains("> maxFinite 65,504 of fp16");
    assertThat(f.describe()).startsWith("edit 1, ").contains("layers.");
    assertThat(fp16.report()).startsWith("first non-finite value:");
    assertThat(fp16.peak()).isGreaterThan(Calibration.FP16_MAX);
    assertThat(fp32.failure()).isEmpty();
    assertThat(fp32.editsRun()).isEqualTo(2);
    assertThat(fp32.peak())
        .isGreaterThan(Calibration.FP16_MAX); // the same excursion, representable in FP32
    assertThat(r.table()).contains("first non-finite value at edit 1");
    assertThat(r.conclusion())
        .contains("the first non-finite value appeared in pytorch-fp16 at edit 1, ")
        .contains("; fp32 stayed finite.");
  }

  @Test
  void jobsChangeNeitherTheResultsNorTheOrderOfAnyLine() {
    List<String> reports = new ArrayList<>();
    List<List<String>> logs = new ArrayList<>(), progresses = new ArrayList<>();
    for (int jobs : new int[] {1, 2, 3}) {
      List<String> log = new ArrayList<>(), progress = new ArrayList<>();
      StressScenario.Report r =
          StressScenario.run(
              quick(records.subList(0, 2))
                  .fraction(0.9)
                  .sweep(List.of(0.5, 1.0), 2)
                  .probe(1, 24)
                  .fluencyTokens(8)
                  .jobs(jobs)
                  .progress(progress::add)
                  .build(),
              log::add);
      StringBuilder all = new StringBuilder(r.table()).append(r.conclusion());
      List<StressScenario.Run> runs = new ArrayList<>(List.of(r.main()));
      runs.addAll(r.sweep());
      for (StressScenario.Run run : runs) {
        for (StressScenario.Outcome o : run.outcomes()) {
          all.append(o.report()).append(o.peak()).append(o.lastLossLine());
        }
      }
      reports.add(all.toString());
      logs.add(log);
      progresses.add(progress);
    }
    assertThat(logs.getFirst()).isNotEmpty();
    assertThat(progresses.getFirst()).hasSize(3 * 2 * 2);
    assertThat(reports).allSatisfy(x -> assertThat(x).isEqualTo(reports.getFirst()));
    assertThat(logs).allSatisfy(x -> assertThat(x).isEqualTo(logs.getFirst()));
    assertThat(progresses).allSatisfy(x -> assertThat(x).isEqualTo(progresses.getFirst()));
  }

  @Test
  void badSettingsAreRejected() {
    assertThatThrownBy(() -> quick(records).fraction(1.5).build())
        .hasMessageContaining("--mlp-peak");
    assertThatThrownBy(() -> quick(records).edits(0).build()).hasMessageContaining("edits >= 1");
    assertThatThrownBy(() -> quick(records).policies(List.of("fp17")).build())
        .hasMessageContaining("unknown precision policy");
    assertThatThrownBy(() -> quick(List.of()).build())
        .hasMessageContaining("at least one edit record");
    assertThat(quick(records).edits(7).build().toBuilder().build().edits()).isEqualTo(7);
    assertThatThrownBy(() -> StressScenario.run(quick(records).layers("9").build(), EditLog.NONE))
        .hasMessageContaining("names layer 9");
  }
}
