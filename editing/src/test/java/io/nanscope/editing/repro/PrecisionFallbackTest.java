package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.weights.WeightNames;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/**
 * {@code --policy auto --fallback fp32} on the disabling-edit scenario (bare context).
 *
 * <p>By default the edit-safety check predicts that the first edit overflows FP16 downstream, and
 * auto refuses it: the weights stay as they were, the refusal is labelled in the log and the
 * fallback lines, and the run finishes without any fallback of a forward.
 *
 * <p>With the explicit opt-out ({@code --allow-unsafe-edits}, 2 records), auto writes it as before:
 * the FP16 generation after the first edit fails and is redone in FP32; the second edit's FP16 loss
 * is NaN at step 0, so the edit is redone in FP32; the run finishes and no weight tensor holds a
 * NaN or inf, checked tensor by tensor from the raw bits.
 */
class PrecisionFallbackTest {

  @Test
  void autoRefusesAnEditPredictedToOverflow() throws Exception {
    ReproFixture f = new ReproFixture();
    List<String> log = new ArrayList<>();
    RunResult r =
        ReproPipeline.run(
            f.source(),
            f.tok,
            f.settings(1, true, OptionalDouble.of(ReproFixture.OVERRIDE), false),
            ReproPipeline.Mode.auto("fp32"),
            log::add);

    assertThat(r.finished()).isTrue();
    assertThat(r.fallbacks())
        .singleElement()
        .satisfies(l ->
            assertThat(l)
                .startsWith(
                    "refused the update of edit 0 (edit-safety check: layers.1.mlp.down_proj"
                        + " would reach |x| = ")
                .contains("> maxFinite 65,504 of fp16)")
                .endsWith("the weights are unchanged; --allow-unsafe-edits writes it"));
    int warning =
        log.indexOf(
            log.stream()
                .filter(l -> l.startsWith("edit-safety check (before writing): layers.1."))
                .findFirst()
                .orElseThrow());
    assertThat(log.indexOf(r.fallbacks().getFirst())).isGreaterThan(warning);
    assertThat(log).noneMatch(l -> l.startsWith("New weights successfully inserted"));
    assertThat(r.records().getFirst().post()).isPresent();
    LlamaModel m = f.loaded.getLast();
    LlamaModel unedited =
        LlamaModel.load(f.root.resolve("models/stories260K"), m.writableDownProj(1).format());
    assertThat(RomeEditorCrc.of(m.writableDownProj(1)))
        .isEqualTo(RomeEditorCrc.of(unedited.weights().get(1, WeightNames.Layer.W_DOWN)));
  }

  @Test
  void autoWithTheOptOutWritesItAndFinishesWithEveryWeightFinite() throws Exception {
    ReproFixture f = new ReproFixture();
    List<String> log = new ArrayList<>();
    RunResult r =
        ReproPipeline.run(
            f.source(),
            f.tok,
            f.settings(2, true, OptionalDouble.of(ReproFixture.OVERRIDE), false),
            ReproPipeline.Mode.auto("fp32").allowingUnsafeEdits(),
            log::add);

    assertThat(r.finished()).isTrue();
    assertThat(r.records()).allMatch(o -> o.post().isPresent());
    assertThat(r.fallbacks()).isNotEmpty();
    assertThat(r.fallbacks().getFirst())
        .startsWith(
            "falling back to fp32 at edit 0 generation: probability tensor contains either");
    assertThat(r.fallbacks())
        .anyMatch(l -> l.startsWith("falling back to fp32 at edit 1 step 0: loss NaN"));
    assertThat(log).containsAll(r.fallbacks());
    RecordOutcome second = r.records().get(1);
    assertThat(second.editPolicy()).isEqualTo("fp32");
    assertThat(second.steps()).allMatch(s -> Double.isFinite(s.loss()));

    LlamaModel m = f.loaded.getLast();
    int tensors = 0;
    for (WeightNames.Global g : WeightNames.Global.values()) {
      assertThat(ReproFixture.nonFiniteFromBits(m.weights().get(g))).as(g.hf()).isZero();
      tensors++;
    }
    for (int l = 0; l < m.config().nLayers(); l++) {
      for (WeightNames.Layer t : WeightNames.Layer.values()) {
        Tensor w = t == WeightNames.Layer.W_DOWN ? m.writableDownProj(l) : m.weights().get(l, t);
        assertThat(ReproFixture.nonFiniteFromBits(w)).as(t.hf(l)).isZero();
        tensors++;
      }
    }
    assertThat(tensors).isEqualTo(3 + 9 * m.config().nLayers());
    assertThat(r.nonFiniteWeights())
        .hasSize(tensors)
        .allSatisfy((k, v) -> assertThat(v).as(k).isZero());
    // the edits were written (sequential): layer 1's W_down differs from the unedited model's
    LlamaModel unedited =
        LlamaModel.load(f.root.resolve("models/stories260K"), m.writableDownProj(1).format());
    assertThat(RomeEditorCrc.of(m.writableDownProj(1)))
        .isNotEqualTo(RomeEditorCrc.of(unedited.weights().get(1, WeightNames.Layer.W_DOWN)));
  }

  /** CRC-32 of a tensor's bytes. */
  static final class RomeEditorCrc {
    static long of(Tensor t) {
      java.util.zip.CRC32 c = new java.util.zip.CRC32();
      c.update(t.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
      return c.getValue();
    }
  }
}
