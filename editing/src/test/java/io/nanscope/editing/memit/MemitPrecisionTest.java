package io.nanscope.editing.memit;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.RepoPaths;
import io.nanscope.editing.alphaedit.AlphaEdit;
import io.nanscope.editing.alphaedit.NullSpaceProjector;
import io.nanscope.editing.alphaedit.PreservedKeys;
import io.nanscope.editing.hparams.AlphaEditHyperParams;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.MemitHyperParams;
import io.nanscope.editing.hparams.ValueOptimization;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.stats.KeyStatistics;
import io.nanscope.editing.stats.TextCorpus;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * MEMIT and AlphaEdit under the 16-bit policies: the forward/backward of z runs in the policy (the
 * tracer sees the residual delta's site), the FP64 parts and the weight update are reported at
 * their named sites, the new weights are in the storage format, and compute leaves the model bit
 * for bit. (This test lives with MEMIT; it uses AlphaEdit too — tests are outside the algorithms'
 * import rule.) Three z steps and 40 corpus texts keep it short; the numbers are not the point
 * here.
 */
class MemitPrecisionTest {

  @ParameterizedTest
  @ValueSource(strings = {"pytorch-fp16", "pytorch-bf16"})
  void sixteenBitPoliciesRunAndReportTheNamedSites(String name) throws Exception {
    PrecisionPolicy policy = PrecisionPolicy.named(name);
    Path dir = RepoPaths.inRepo("models/stories260K");
    LlamaModel model = LlamaModel.load(dir, policy.storage());
    Tokenizer tok = Tokenizer.readFromDirectory(dir);
    MemitHyperParams m =
        HyperParamsYaml.readMemit(RepoPaths.inRepo("configs/memit/stories260K.yaml")).hparams();
    ValueOptimization v = m.valueOptimization();
    ValueOptimization quick =
        new ValueOptimization(
            3,
            v.lr(),
            v.lossLayer(),
            v.weightDecay(),
            v.clampNormFactor(),
            v.klFactor(),
            v.targetTokens());
    MemitHyperParams hp =
        new MemitHyperParams(
            m.algName(),
            m.modelName(),
            m.statsDir(),
            m.device(),
            m.layers(),
            m.layerSelection(),
            m.factToken(),
            quick,
            m.secondMoment(),
            m.mom2UpdateWeight(),
            m.modules(),
            m.modelParallel(),
            m.maxLength(),
            m.batchSize());
    List<String> texts = TextCorpus.read(RepoPaths.inRepo(m.secondMoment().dataset())).first(40);
    Map<Integer, double[]> cov = new HashMap<>();
    for (int layer : hp.layers()) {
      cov.put(
          layer,
          KeyStatistics.compute(
                  model,
                  tok,
                  PrecisionPolicy.named("fp32"),
                  OpContext.DEFAULT,
                  layer,
                  texts,
                  256,
                  Optional.empty(),
                  i -> {})
              .moment());
    }
    List<String> sites = new ArrayList<>();
    Tracer tracer =
        new Tracer() {
          @Override
          public boolean enabled() {
            return true;
          }

          @Override
          public void record(OpRecord r) {
            sites.add(r.site().name() + " " + r.op() + " " + r.output().format().name());
          }
        };
    OpContext ctx = OpContext.DEFAULT.withTracer(tracer);
    TemplateGroups templates =
        new TemplateGroups(List.of(List.of("{}"), List.of("The day was. {}")), "test");
    List<EditRequest> batch = List.of(EditRequest.of("Lily", "Lily's favorite toy is a", "doll"));
    byte[] before =
        model.writableDownProj(1).segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);

    Memit.Outcome o =
        Memit.compute(
            model, tok, hp, batch, templates, Memit.Options.of(policy, ctx, cov::get), line -> {});
    assertThat(model.writableDownProj(1).segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
        .isEqualTo(before);
    assertThat(o.finite()).isTrue();
    for (Memit.LayerUpdate l : o.layers()) {
      assertThat(l.updated().format()).isEqualTo(policy.storage());
      String s = "layers." + l.layer() + ".mlp.down_proj.";
      assertThat(sites)
          .contains(
              s + "memit.residual_spread div fp64",
              s + "memit.covariance_solve cholesky_solve fp64",
              s + "memit.delta matmul fp64",
              s + "update memit_update " + policy.storage().name());
    }
    assertThat(sites).anyMatch(x -> x.equals("layers.2.delta add_rows " + policy.storage().name()));
    assertThat(sites)
        .anyMatch(x -> x.equals("layers.3.mlp.down_proj matmul " + policy.storage().name()));

    AlphaEditHyperParams a0 =
        HyperParamsYaml.readAlphaEdit(RepoPaths.inRepo("configs/alphaedit/stories260K.yaml"))
            .hparams();
    AlphaEditHyperParams a =
        new AlphaEditHyperParams(
            a0.algName(),
            a0.modelName(),
            a0.statsDir(),
            a0.pLoc(),
            a0.device(),
            a0.layers(),
            a0.layerSelection(),
            a0.factToken(),
            quick,
            a0.secondMoment(),
            a0.mom2UpdateWeight(),
            a0.nullspaceThreshold(),
            a0.l2(),
            a0.modules(),
            a0.modelParallel(),
            a0.maxLength(),
            a0.batchSize());
    int f = model.config().hiddenDim();
    Map<Integer, NullSpaceProjector> proj = new HashMap<>();
    cov.forEach((layer, c) -> proj.put(layer, NullSpaceProjector.of(c, f, a.nullspaceThreshold())));
    PreservedKeys kept = new PreservedKeys();
    sites.clear();
    AlphaEdit.Outcome ao =
        AlphaEdit.compute(
            model,
            tok,
            a,
            batch,
            templates,
            proj::get,
            kept,
            AlphaEdit.Options.of(policy, ctx, cov::get),
            line -> {});
    assertThat(kept.layers()).as("compute keeps no keys").isZero();
    assertThat(ao.finite()).isTrue();
    for (AlphaEdit.LayerUpdate l : ao.layers()) {
      String s = "layers." + l.layer() + ".mlp.down_proj.";
      assertThat(sites)
          .contains(
              s + "alphaedit.residual_spread div " + policy.storage().name(),
              s + "alphaedit.projected_solve lu_solve fp64",
              s + "update alphaedit_update " + policy.storage().name());
    }
    AlphaEdit.apply(model, ao, kept, line -> {});
    assertThat(kept.layers()).as("apply keeps the batch's keys for the next edits").isEqualTo(2);
  }
}
