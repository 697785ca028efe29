package io.nanscope.editing.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.RepoPaths;
import io.nanscope.editing.eval.EditResult;
import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.eval.ModelProbes;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.RomeEditor;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.TensorDigest;
import io.nanscope.llama.weights.WeightNames;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The soak's determinism with a small count (scripts/soak.sh runs 1,000): four sequential ROME
 * edits on a freshly loaded embedded model give the same edited weights (sha256), the same log
 * lines, the same pre/post metrics and the same logits of a probe prompt, bit for bit, in two runs
 * and with 1 and 2 GEMM threads.
 */
class SequentialDeterminismTest {

  static final int EDITS = 4;

  /** Everything a run produces that must not depend on the run or the thread count. */
  record Outcome(
      String downProjSha256, List<String> log, List<Object> metrics, List<Integer> logitBits) {}

  static Outcome run(int threads) throws Exception {
    Path model = RepoPaths.inRepo("models/stories260K");
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    OpContext ctx = OpContext.DEFAULT.withThreads(threads);
    LlamaModel m = LlamaModel.load(model, FloatFormat.FP32);
    Tokenizer tok = Tokenizer.besideModel(model);
    RomeHyperParams h =
        HyperParamsYaml.readRome(RepoPaths.inRepo("scripts/soak/stories260K-soak.yaml")).hparams();
    List<EditRequest> records =
        EditDatasets.read(RepoPaths.inRepo("configs/edits/tinystories-edits.json"))
            .subList(0, EDITS);
    ContextTemplates templates =
        ContextTemplates.sample(
            new GenerateFast(m, tok, fp32, ctx), h.contextTemplateLengthParams(), 42, "test");
    List<String> log = new ArrayList<>();
    List<EditResult> results =
        EditSession.evaluate(
            m,
            new RomeEditor(m, tok, h, templates, null),
            EditContext.of(fp32, ctx, log::add),
            new EditSession.Plan(records, 1, true, true),
            new Evaluator(new ModelProbes(m, tok, fp32, ctx), null),
            u -> {},
            i -> {});
    List<Object> metrics = new ArrayList<>();
    for (EditResult r : results) {
      metrics.add(r.pre().toMap());
      metrics.add(r.post().toMap());
    }
    int[] ids = tok.encode("Lily's favorite toy is a", true, false);
    SequenceOutput out =
        m.forward(new SequenceBatch(new int[][] {ids}), fp32, ctx, null, Hooks.none());
    List<Integer> bits = new ArrayList<>();
    for (float v : out.logitsAt(0, ids.length - 1)) {
      bits.add(Float.floatToRawIntBits(v));
    }
    return new Outcome(
        TensorDigest.sha256(m.weights().get(h.layers().getFirst(), WeightNames.Layer.W_DOWN)),
        log,
        metrics,
        bits);
  }

  @Test
  void sequentialEditsMetricsAndLogitsAreTheSameAcrossRunsAndThreadCounts() throws Exception {
    Outcome first = run(1);
    assertThat(first.log()).anyMatch(l -> l.startsWith("New weights successfully inserted"));
    assertThat(first.downProjSha256())
        .isNotEqualTo(
            TensorDigest.sha256(
                LlamaModel.load(RepoPaths.inRepo("models/stories260K"), FloatFormat.FP32)
                    .weights()
                    .get(1, WeightNames.Layer.W_DOWN)));
    for (Outcome again : List.of(run(1), run(2))) {
      assertThat(again.downProjSha256()).isEqualTo(first.downProjSha256());
      assertThat(again.log()).isEqualTo(first.log());
      assertThat(again.metrics()).isEqualTo(first.metrics());
      assertThat(again.logitBits()).isEqualTo(first.logitBits());
    }
  }
}
