package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.trace.ChainLink;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.Phase;
import io.nanscope.llama.generate.InvalidDistributionException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The disabling edit in FP16 (2 edits, bare context): kᵀu forced to 5e-5 on record 0, then record 1
 * edited on the edited model. Expected from the computation itself: the new weights are finite; the
 * post-edit forward overflows to inf at {@code layers.1.mlp.down_proj}; the next RMSNorm turns it
 * into NaN; the fluency generation dies with PyTorch's multinomial message; the following edit logs
 * {@code loss nan = nan + nan + … avg prob of [ happy] nan}.
 */
class DisablingEditFp16Test {

  @Test
  void fp16EndsInTheOriginalFailureChain(@TempDir Path dir) throws Exception {
    ReproFixture f = new ReproFixture();
    List<String> log = new ArrayList<>();
    RunResult r =
        ReproPipeline.run(
            f.source(),
            f.tok,
            f.settings(2, true, OptionalDouble.of(ReproFixture.OVERRIDE), false),
            ReproPipeline.Mode.fixed("pytorch-fp16"),
            log::add);

    RecordOutcome first = r.records().get(0);
    assertThat(first.overridden()).isTrue();
    assertThat(first.divisionFactor()).isEqualTo(ReproFixture.OVERRIDE);
    assertThat(first.computedDivisionFactor()).isBetween(1.0, 5.0); // natural kᵀu ≈ 2.4 here
    assertThat(first.nonFiniteUpdate()).as("W' stays finite at this override").isZero();
    assertThat(first.editProblem()).isEmpty();
    assertThat(first.failure()).isPresent();
    assertThat(first.failure().get().stage()).isEqualTo(ReproTracer.Stage.GENERATION);
    assertThat(first.failure().get().message())
        .isEqualTo(InvalidDistributionException.NOT_FINITE_OR_NEGATIVE);
    assertThat(log)
        .contains("RuntimeError: " + InvalidDistributionException.NOT_FINITE_OR_NEGATIVE);

    FirstNonFinite e = r.anomaly().first().orElseThrow();
    assertThat(e.at().context().record()).isZero();
    assertThat(e.at().phase()).isEqualTo(Phase.FORWARD);
    assertThat(e.at().site().name()).isEqualTo("layers.1.mlp.down_proj");
    assertThat(e.at().op()).isEqualTo("matmul");
    assertThat(e.newInf()).isTrue();
    assertThat(e.inputsFinite()).isTrue();
    assertThat(e.limitCrossed()).contains("> maxFinite 65,504 of fp16");
    assertThat(e.output().unroundedMaxAbs()).isGreaterThan(65_520);
    assertThat(e.offending()).isNotEmpty();
    assertThat(e.offending().getFirst().bits().hex()).isIn("0x7c00", "0xfc00");

    // inf -> NaN after the next RMSNorm -> NaN logits, then the generation's NaN.
    List<ChainLink> chain = r.anomaly().chain();
    ChainLink firstNan = chain.stream().filter(c -> c.nan() > 0).findFirst().orElseThrow();
    assertThat(firstNan.at().site().name()).isEqualTo("layers.2.input_layernorm");
    assertThat(chain).anyMatch(c -> c.at().site().name().equals("lm_head") && c.nan() > 0);
    assertThat(chain).anyMatch(c -> c.at().phase() == Phase.GENERATION && c.nan() > 0);

    // The following edit runs on the broken model: every loss is NaN, the log shows it.
    RecordOutcome second = r.records().get(1);
    assertThat(second.steps()).isNotEmpty().allMatch(s -> Double.isNaN(s.loss()));
    assertThat(second.firstNonFiniteStep()).isZero();
    assertThat(log)
        .anyMatch(
            l -> l.startsWith("loss nan = nan + nan + ") && l.endsWith("avg prob of [ happy] nan"));
    assertThat(r.finished()).isFalse();

    Path json = dir.resolve("first.json");
    ReproReport.writeFirstOverflowJson(json, "disabling-edit", r);
    JsonNode n = JsonMapper.builder().build().readTree(Files.readString(json));
    assertThat(n.get("type").asString()).isEqualTo("first_non_finite");
    assertThat(n.get("phase").asString()).isEqualTo("forward");
    assertThat(n.get("site").asString()).isEqualTo("layers.1.mlp.down_proj");
    assertThat(n.get("record").asInt()).isZero();
    assertThat(n.get("limit_crossed").asString()).contains("65,504");
    assertThat(n.get("offending").get(0).get("bits").asString()).isIn("0x7c00", "0xfc00");
    assertThat(n.get("first_nan").get("site").asString()).isEqualTo("layers.2.input_layernorm");
    assertThat(n.get("failure").asString())
        .contains(InvalidDistributionException.NOT_FINITE_OR_NEGATIVE);
    assertThat(Files.list(dir)).hasSize(1); // no temporary file left behind

    String report = ReproReport.firstOverflow(r);
    assertThat(report)
        .contains("first non-finite value: record 0 forward layers.1.mlp.down_proj (matmul)")
        .contains("first NaN after the first inf: record 0 forward layers.2.input_layernorm");
  }
}
