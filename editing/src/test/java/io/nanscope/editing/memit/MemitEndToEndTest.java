package io.nanscope.editing.memit;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.RepoPaths;
import io.nanscope.editing.eval.EditResult;
import io.nanscope.editing.eval.EditSummary;
import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.eval.ModelProbes;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.MemitHyperParams;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.stats.KeyStatistics;
import io.nanscope.editing.stats.TextCorpus;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A MEMIT batch edit of the first records of the shipped in-domain edit set on the embedded model
 * (FP32, configs/memit/stories260K.yaml, C from the bundled corpus): Edit Succ. must rise, compute
 * must leave the model untouched, and apply must change exactly the edit layers' down projections.
 */
class MemitEndToEndTest {

  static final int RECORDS = 2;

  @Test
  void batchEditRaisesEditSuccessAndTouchesOnlyTheEditLayers() throws Exception {
    Path dir = RepoPaths.inRepo("models/stories260K");
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    OpContext ctx = OpContext.DEFAULT;
    LlamaModel model = LlamaModel.load(dir, FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(dir);
    MemitHyperParams hp =
        HyperParamsYaml.readMemit(RepoPaths.inRepo("configs/memit/stories260K.yaml")).hparams();
    List<String> texts =
        TextCorpus.read(RepoPaths.inRepo(hp.secondMoment().dataset()))
            .first(hp.secondMoment().nSamples());
    Map<Integer, double[]> cov = new HashMap<>();
    for (int layer : hp.layers()) {
      cov.put(
          layer,
          KeyStatistics.compute(model, tok, fp32, ctx, layer, texts, 256, Optional.empty(), i -> {})
              .moment());
    }
    TemplateGroups templates =
        TemplateGroups.sample(new GenerateFast(model, tok, fp32, ctx), 42, "test");
    List<EditRequest> batch =
        EditDatasets.knowEdit(RepoPaths.inRepo("configs/edits/tinystories-edits.json"))
            .subList(0, RECORDS);
    Evaluator evaluator = new Evaluator(new ModelProbes(model, tok, fp32, ctx), null);
    List<Evaluator.Evaluated> pre = new ArrayList<>();
    for (EditRequest r : batch) {
      pre.add(evaluator.evaluate(r, null));
    }
    int nLayers = model.config().nLayers();
    List<Tensor> before = new ArrayList<>();
    for (int l = 0; l < nLayers; l++) {
      before.add(model.writableDownProj(l).copy());
    }
    List<String> log = new ArrayList<>();
    Memit.Outcome o =
        Memit.compute(
            model, tok, hp, batch, templates, Memit.Options.of(fp32, ctx, cov::get), log::add);
    assertThat(o.finite()).isTrue();
    assertThat(o.layers()).extracting(Memit.LayerUpdate::layer).isEqualTo(hp.layers());
    for (int l = 0; l < nLayers; l++) {
      assertThat(same(model.writableDownProj(l), before.get(l)))
          .as("compute left layer %d as it was", l)
          .isTrue();
    }
    assertThat(log)
        .contains("Writing " + RECORDS + " key/value pair(s) into layer " + hp.layers().getFirst());
    Memit.apply(model, o, log::add);
    for (int l = 0; l < nLayers; l++) {
      assertThat(same(model.writableDownProj(l), before.get(l)))
          .as("layer %d changed", l)
          .isEqualTo(!hp.layers().contains(l));
    }
    List<EditResult> results = new ArrayList<>();
    for (int i = 0; i < batch.size(); i++) {
      Evaluator.Evaluated post = evaluator.evaluate(batch.get(i), pre.get(i).localityIds());
      results.add(new EditResult(i, batch.get(i), 0, pre.get(i).metrics(), post.metrics()));
    }
    double preSucc = EditSummary.of(results, true).editSucc();
    double postSucc = EditSummary.of(results, false).editSucc();
    assertThat(postSucc)
        .as("Edit Succ. %s → %s", preSucc, postSucc)
        .isGreaterThanOrEqualTo(preSucc + 20);
  }

  static boolean same(Tensor a, Tensor b) {
    return a.segment().mismatch(b.segment()) == -1;
  }
}
