package io.nanscope.editing.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.RepoPaths;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.LlamaModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PrecisionFallbackTest {

  private static final PrecisionPolicy FP16 = PrecisionPolicy.named("pytorch-fp16");
  private static final PrecisionPolicy FP32 = PrecisionPolicy.named("fp32");
  private static final List<EditRequest> ONE =
      List.of(EditRequest.of("Lily", "Lily's toy is a", "ball"));

  private static LlamaModel model() throws Exception {
    return LlamaModel.load(RepoPaths.inRepo("models/stories260K"), FloatFormat.FP16);
  }

  @Test
  void aNonFiniteStepStopsTheAttemptAndTheEditIsRedoneInTheFallback() throws Exception {
    FakeEditor e = new FakeEditor(model(), FloatFormat.FP16, 5);
    List<String> switches = new ArrayList<>(), log = new ArrayList<>();
    WeightUpdate u =
        new PrecisionFallback(e, Optional.of(FP32), switches::add)
            .compute(ONE, EditContext.of(FP16, OpContext.DEFAULT, log::add).withEdit(3));
    assertThat(e.stepsRun)
        .containsExactly(1, 5); // stopped at the NaN step 0, then the whole fp32 edit
    assertThat(switches)
        .containsExactly("falling back to fp32 at edit 3 step 0: loss NaN (nll NaN, kl 0.0)");
    assertThat(log).isEqualTo(switches);
    assertThat(u.policy()).isEqualTo(FP32);
    assertThat(u.problem()).isEmpty();
    assertThat(u.refused()).isFalse();
    assertThat(u.nonFiniteValues()).isZero();
  }

  @Test
  void aNonFiniteUpdateFallsBackToo() throws Exception {
    FakeEditor e = new FakeEditor(model(), FloatFormat.FP16, 0);
    List<String> switches = new ArrayList<>();
    WeightUpdate u =
        new PrecisionFallback(e, Optional.of(FP32), switches::add)
            .compute(ONE, EditContext.of(FP16, OpContext.DEFAULT, line -> {}));
    assertThat(switches)
        .containsExactly(
            "falling back to fp32 at edit 0: update: 1 non-finite entries in the new "
                + FakeEditor.WEIGHT);
    assertThat(u.policy()).isEqualTo(FP32);
    assertThat(u.refused()).isFalse();
  }

  @Test
  void withoutAFallbackTheProblemIsReportedAndTheUpdateKept() throws Exception {
    FakeEditor e = new FakeEditor(model(), FloatFormat.FP16, 4);
    List<String> switches = new ArrayList<>();
    WeightUpdate u =
        new PrecisionFallback(e, Optional.empty(), switches::add)
            .compute(ONE, EditContext.of(FP16, OpContext.DEFAULT, line -> {}));
    assertThat(e.stepsRun).containsExactly(4); // not stopped: EasyEdit runs every step
    assertThat(switches).isEmpty();
    assertThat(u.problem()).contains(new WeightUpdate.Problem(0, "loss NaN (nll NaN, kl 0.0)"));
    assertThat(u.refused()).isFalse();
    assertThat(u.policy()).isEqualTo(FP16);
  }

  @Test
  void anUpdateStillNonFiniteInTheFallbackIsRefused() throws Exception {
    FakeEditor e = new FakeEditor(model(), FloatFormat.FP16, 2);
    List<String> switches = new ArrayList<>();
    PrecisionPolicy bf16 = PrecisionPolicy.named("pytorch-bf16");
    // the fake's NaN follows the storage format, and bf16's policy stores in bf16: make fp16 both
    WeightUpdate u =
        new PrecisionFallback(e, Optional.of(PrecisionPolicy.named("naive-fp16")), switches::add)
            .compute(ONE, EditContext.of(FP16, OpContext.DEFAULT, line -> {}));
    assertThat(bf16.storage()).isEqualTo(FloatFormat.BF16);
    assertThat(switches)
        .containsExactly(
            "falling back to naive-fp16 at edit 0 step 0: loss NaN (nll NaN, kl 0.0)",
            "refused the update of edit 0 (loss NaN (nll NaN, kl 0.0)): the weights are unchanged");
    assertThat(u.refused()).isTrue();
  }

  @Test
  void theAlgorithmsOwnDiagnosisComesFirst() throws Exception {
    LlamaModel m = model();
    Editor diagnosing =
        new Editor() {
          @Override
          public String algorithm() {
            return "DIAG";
          }

          @Override
          public WeightUpdate compute(List<EditRequest> batch, EditContext ctx) {
            WeightUpdate u = new FakeEditor(m, FloatFormat.FP16, 0).compute(batch, ctx);
            return ctx.policy().storage() == FloatFormat.FP16
                ? u.withProblem(Optional.of(new WeightUpdate.Problem(-1, "its own words")))
                : u;
          }
        };
    List<String> switches = new ArrayList<>();
    new PrecisionFallback(diagnosing, Optional.of(FP32), switches::add)
        .compute(ONE, EditContext.of(FP16, OpContext.DEFAULT, line -> {}));
    assertThat(switches).containsExactly("falling back to fp32 at edit 0: its own words");
  }
}
