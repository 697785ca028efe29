package io.nanscope.editing.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.editing.RepoPaths;
import io.nanscope.editing.eval.EditMetrics;
import io.nanscope.editing.eval.EditResult;
import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.eval.ModelProbes;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.WeightNames;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class EditSessionTest {

  private static final PrecisionPolicy FP32 = PrecisionPolicy.named("fp32");

  private static LlamaModel model() throws Exception {
    return LlamaModel.load(RepoPaths.inRepo("models/stories260K"), FloatFormat.FP32);
  }

  private static List<EditRequest> records(int n) {
    List<EditRequest> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(EditRequest.of("Lily", "Lily's toy " + i + " is a", "ball"));
    }
    return out;
  }

  private static double entry0(LlamaModel m) {
    return m.weights().get(FakeEditor.LAYER, WeightNames.Layer.W_DOWN).getDouble(0);
  }

  /** Records the order of the hooks and the weight entry each post-edit evaluation sees. */
  private static class Recorder implements EditSession.Hooks<Double> {
    final LlamaModel m;
    final List<String> order;

    Recorder(LlamaModel m, List<String> order) {
      this.m = m;
      this.order = order;
    }

    @Override
    public Evaluator.Evaluated pre(int index, EditRequest record) {
      order.add("pre " + index);
      return new Evaluator.Evaluated(
          new EditMetrics(List.of(), Optional.empty(), Map.of(), Map.of(), OptionalDouble.empty()),
          Map.of());
    }

    @Override
    public void beforeEdit(int edit) {
      order.add("edit " + edit);
    }

    @Override
    public Double after(EditSession.Applied a, List<Evaluator.Evaluated> pre) {
      order.add(
          "after "
              + a.edit()
              + " first "
              + a.first()
              + " pre "
              + pre.size()
              + " written "
              + a.written());
      return entry0(m);
    }
  }

  @Test
  void singleEditsSeeTheUneditedModelAndAreRestored() throws Exception {
    LlamaModel m = model();
    LlamaModel fresh = model();
    double w0 = entry0(m);
    FakeEditor e = new FakeEditor(m, FloatFormat.FP16, 0);
    List<String> order = new ArrayList<>();
    List<Double> post =
        EditSession.run(
            m,
            e,
            EditContext.of(FP32, OpContext.DEFAULT, line -> {}),
            new EditSession.Plan(records(3), 1, false, true),
            new Recorder(m, order));
    assertThat(e.seen).containsExactly(w0, w0, w0);
    assertThat(post)
        .containsExactly(
            (double) (float) (w0 + 1), (double) (float) (w0 + 1), (double) (float) (w0 + 1));
    assertThat(order)
        .containsExactly(
            "pre 0",
            "pre 1",
            "pre 2",
            "edit 0",
            "after 0 first 0 pre 1 written true",
            "edit 1",
            "after 1 first 1 pre 1 written true",
            "edit 2",
            "after 2 first 2 pre 1 written true");
    assertThat(e.calls)
        .containsExactly(
            "compute 0 fp32 batch 1",
            "written 1",
            "compute 1 fp32 batch 1",
            "written 1",
            "compute 2 fp32 batch 1",
            "written 1");
    assertThat(m.weights().firstBitwiseDifference(fresh.weights())).isEmpty();
  }

  @Test
  void sequentialEditsAccumulate() throws Exception {
    LlamaModel m = model();
    double w0 = entry0(m);
    FakeEditor e = new FakeEditor(m, FloatFormat.FP16, 0);
    List<Double> post =
        EditSession.run(
            m,
            e,
            EditContext.of(FP32, OpContext.DEFAULT, line -> {}),
            new EditSession.Plan(records(3), 1, true, false),
            new Recorder(m, new ArrayList<>()));
    float w = (float) w0;
    List<Double> expected = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      w = (float) (w + 1.0);
      expected.add((double) w);
    }
    assertThat(post).isEqualTo(expected);
    assertThat(entry0(m)).isEqualTo(expected.getLast());
  }

  @Test
  void batchesEditSeveralRecordsPerUpdate() throws Exception {
    LlamaModel m = model();
    LlamaModel fresh = model();
    FakeEditor e = new FakeEditor(m, FloatFormat.FP16, 0);
    List<String> order = new ArrayList<>();
    List<Double> post =
        EditSession.run(
            m,
            e,
            EditContext.of(FP32, OpContext.DEFAULT, line -> {}),
            new EditSession.Plan(records(5), 2, false, true),
            new Recorder(m, order));
    assertThat(post).hasSize(3);
    assertThat(e.calls)
        .containsExactly(
            "compute 0 fp32 batch 2",
            "written 2",
            "compute 1 fp32 batch 2",
            "written 2",
            "compute 2 fp32 batch 1",
            "written 1");
    assertThat(order)
        .contains("after 1 first 2 pre 2 written true", "after 2 first 4 pre 1 written true");
    assertThat(m.weights().firstBitwiseDifference(fresh.weights())).isEmpty();
  }

  @Test
  void restoresWhenTheEvaluationThrows() throws Exception {
    LlamaModel m = model();
    LlamaModel fresh = model();
    FakeEditor e = new FakeEditor(m, FloatFormat.FP16, 0);
    assertThatThrownBy(() ->
            EditSession.run(
                m,
                e,
                EditContext.of(FP32, OpContext.DEFAULT, line -> {}),
                new EditSession.Plan(records(1), 1, false, false),
                (a, pre) -> {
                  throw new IllegalStateException("evaluation failed");
                }))
        .hasMessage("evaluation failed");
    assertThat(m.weights().firstBitwiseDifference(fresh.weights())).isEmpty();
  }

  @Test
  void refusedUpdatesAreNotWritten() throws Exception {
    LlamaModel m = model();
    LlamaModel fresh = model();
    FakeEditor e = new FakeEditor(m, FloatFormat.FP32, 0); // non-finite in fp32, no fallback left
    Editor refusing =
        new PrecisionFallback(e, Optional.of(PrecisionPolicy.named("fp32")), line -> {});
    List<String> order = new ArrayList<>();
    EditSession.run(
        m,
        refusing,
        EditContext.of(FP32, OpContext.DEFAULT, line -> {}),
        new EditSession.Plan(records(2), 1, true, false),
        new Recorder(m, order));
    assertThat(order)
        .containsExactly(
            "edit 0",
            "after 0 first 0 pre 0 written false",
            "edit 1",
            "after 1 first 1 pre 0 written false");
    assertThat(e.calls).noneMatch(c -> c.startsWith("written"));
    assertThat(m.weights().firstBitwiseDifference(fresh.weights())).isEmpty();
  }

  @Test
  void stopsWhenTheDriverSaysSo() throws Exception {
    LlamaModel m = model();
    FakeEditor e = new FakeEditor(m, FloatFormat.FP16, 0);
    List<Double> post =
        EditSession.run(
            m,
            e,
            EditContext.of(FP32, OpContext.DEFAULT, line -> {}),
            new EditSession.Plan(records(4), 1, true, false),
            new Recorder(m, new ArrayList<>()) {
              @Override
              public boolean stop(Double result) {
                return true;
              }
            });
    assertThat(post).hasSize(1);
    assertThat(e.calls).hasSize(2);
  }

  @Test
  void refusesAnEmptyBatchSize() {
    assertThatThrownBy(() -> new EditSession.Plan(records(1), 0, false, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 1");
  }

  /**
   * EasyEdit's sequential_edit=True: the fluency generation of each evaluation records the weight
   * entry the model holds then; pre-edit evaluations see the unedited model, every post-edit one
   * the model with all three edits.
   */
  @Test
  void evaluateAfterAllEditsFirstThenEvaluatesOnTheFinalModel() throws Exception {
    LlamaModel m = model();
    double w0 = entry0(m);
    FakeEditor e = new FakeEditor(m, FloatFormat.FP16, 0);
    List<Double> atEvaluation = new ArrayList<>();
    Evaluator evaluator =
        new Evaluator(
            new ModelProbes(
                m,
                Tokenizer.readFromDirectory(RepoPaths.inRepo("models/stories260K")),
                FP32,
                OpContext.DEFAULT),
            prompt -> {
              atEvaluation.add(entry0(m));
              return "the cat sat on the mat";
            });
    List<Integer> progress = new ArrayList<>();
    List<EditResult> results =
        EditSession.evaluateAfterAll(
            m,
            e,
            EditContext.of(FP32, OpContext.DEFAULT, line -> {}),
            records(3),
            1,
            evaluator,
            u -> {},
            progress::add);
    float w = (float) w0;
    List<Double> seenByCompute = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      seenByCompute.add((double) w);
      w = (float) (w + 1.0);
    }
    assertThat(e.seen).isEqualTo(seenByCompute);
    assertThat(atEvaluation).containsExactly(w0, w0, w0, (double) w, (double) w, (double) w);
    assertThat(results).extracting(EditResult::caseId).containsExactly(0, 1, 2);
    assertThat(progress).containsExactly(0, 1, 2);
    assertThat(entry0(m)).isEqualTo((double) w);
  }
}
