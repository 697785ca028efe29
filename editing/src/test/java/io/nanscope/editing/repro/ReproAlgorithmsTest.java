package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.editing.finetune.FineTune;
import io.nanscope.editing.finetune.FineTuneEditor;
import io.nanscope.editing.hparams.FtHyperParams;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.MemitHyperParams;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.memit.MemitEditor;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.Editor;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.editing.stats.KeyStatistics;
import io.nanscope.editing.stats.TextCorpus;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.LlamaModel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

/**
 * The repro pipeline runs algorithms other than ROME ({@code repro --alg}): their sites reach the
 * tracer and the first-overflow report names the op that overflowed.
 */
class ReproAlgorithmsTest {

  private final ReproFixture f = new ReproFixture();
  private static final PrecisionPolicy FP32 = PrecisionPolicy.named("fp32");

  private ReproPipeline.Settings settings(int n, OptionalDouble override) {
    return new ReproPipeline.Settings(
        null, f.records.subList(0, n), null, 42, 1, false, false, override, true, false);
  }

  /**
   * MEMIT in FP32 on one record: the edit is written and finite, kᵀu is not ROME's (NaN), and the
   * per-site stats hold MEMIT's own sites, the residual spread and the covariance solve of both
   * edit layers.
   */
  @Test
  void memitReportsItsSolveAndSpreadToTheTracer() throws Exception {
    MemitHyperParams hp =
        HyperParamsYaml.readMemit(f.root.resolve("configs/memit/stories260K.yaml")).hparams();
    LlamaModel m0 = LlamaModel.load(f.root.resolve("models/stories260K"), FloatFormat.FP32);
    List<String> texts = TextCorpus.read(f.root.resolve(hp.secondMoment().dataset())).first(40);
    Map<Integer, double[]> c = new HashMap<>();
    for (int layer : hp.layers()) {
      c.put(
          layer,
          KeyStatistics.compute(
                  m0, f.tok, FP32, OpContext.DEFAULT, layer, texts, 256, Optional.empty(), i -> {})
              .moment());
    }
    TemplateGroups templates =
        TemplateGroups.sample(new GenerateFast(m0, f.tok, FP32, OpContext.DEFAULT), 42, "test");
    // MEMIT's own sites are weight-update ops (phase RANK_ONE_UPDATE): they reach the run's tracer
    // (and so its first-overflow report) but not the forward/backward headroom stats; a spy
    // between the pipeline's tracer and MEMIT records their names and passes every op on
    List<String> updateSites = new ArrayList<>();
    List<Tracer> runTracers = new ArrayList<>();
    ReproPipeline.EditorFactory memit =
        (m, t) ->
            new Editor() {
              final MemitEditor inner = new MemitEditor(m, t, hp, templates, c::get);

              @Override
              public String algorithm() {
                return inner.algorithm();
              }

              @Override
              public WeightUpdate compute(List<EditRequest> batch, EditContext ctx) {
                Tracer run = ctx.ops().tracer();
                runTracers.add(run);
                Tracer spy =
                    new Tracer() {
                      @Override
                      public boolean enabled() {
                        return run.enabled();
                      }

                      @Override
                      public void record(OpRecord op) {
                        if (op.phase() == Phase.RANK_ONE_UPDATE) {
                          updateSites.add(op.site().name());
                        }
                        run.record(op);
                      }
                    };
                return inner.compute(
                    batch,
                    new EditContext(
                        ctx.edit(),
                        ctx.policy(),
                        ctx.ops().withTracer(spy),
                        ctx.log(),
                        ctx.steps(),
                        ctx.divisionFactorOverride(),
                        ctx.dynamicLossScale(),
                        ctx.stages()));
              }
            };

    RunResult r =
        ReproPipeline.run(
            f.source(),
            f.tok,
            settings(1, OptionalDouble.empty()),
            ReproPipeline.Mode.fixed("fp32"),
            line -> {},
            memit);

    RecordOutcome o = r.records().getFirst();
    assertThat(o.written()).isTrue();
    assertThat(o.steps()).isNotEmpty();
    assertThat(o.finalLoss()).isFinite();
    assertThat(o.divisionFactor()).isNaN();
    assertThat(o.nonFiniteUpdate()).isZero();
    assertThat(r.anomaly().first()).isEmpty();
    assertThat(runTracers).singleElement().isInstanceOf(ReproTracer.class);
    for (int layer : hp.layers()) {
      assertThat(updateSites)
          .contains(
              "layers." + layer + ".mlp.down_proj.memit.residual_spread",
              "layers." + layer + ".mlp.down_proj.memit.covariance_solve");
    }
    assertThat(r.headroom()).isNotEmpty();

    assertThatThrownBy(() ->
            ReproPipeline.run(
                f.source(),
                f.tok,
                settings(1, OptionalDouble.of(5e-5)),
                ReproPipeline.Mode.fixed("fp32"),
                line -> {},
                memit))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ROME and R-ROME only");
  }

  /**
   * FT-M under pytorch-fp16 with Adam's moments in FP16 (PyTorch's zeros_like): the first
   * non-finite value of the run is the optimizer's update (eps 1e-8 is 0 in FP16), and the
   * first-overflow report names that site; the update is counted as non-finite.
   */
  @Test
  void fineTuneInFp16NamesTheAdamSiteAsTheFirstOverflow() throws Exception {
    FtHyperParams hp =
        HyperParamsYaml.readFt(f.root.resolve("configs/ft/stories260K-ftm.yaml")).hparams();
    ReproPipeline.EditorFactory ft =
        (m, t) -> new FineTuneEditor(m, t, hp, FineTune.Options.of(FP32, OpContext.DEFAULT));

    RunResult r =
        ReproPipeline.run(
            f.source(),
            f.tok,
            settings(1, OptionalDouble.empty()),
            ReproPipeline.Mode.fixed("pytorch-fp16"),
            line -> {},
            ft);

    FirstNonFinite first = r.anomaly().first().orElseThrow();
    assertThat(first.at().site().name()).startsWith("adam.layers.3.mlp.down_proj.weight");
    assertThat(r.records().getFirst().nonFiniteUpdate()).isPositive();
    assertThat(ReproReport.firstOverflow(r)).contains("adam.layers.3.mlp.down_proj.weight");
  }

  /**
   * The same run with the optimiser state site {@code adam.layers.3.mlp.down_proj.weight} in FP32
   * ({@code editing.keys.OptimiserStateSite}): Adam's moments are FP32, eps is representable, and
   * no optimiser site goes non-finite; the update is finite.
   */
  @Test
  void fineTuneInFp16WithTheOptimiserStateSiteWidenedHasAFiniteUpdate() throws Exception {
    FtHyperParams hp =
        HyperParamsYaml.readFt(f.root.resolve("configs/ft/stories260K-ftm.yaml")).hparams();
    ReproPipeline.EditorFactory ft =
        (m, t) -> new FineTuneEditor(m, t, hp, FineTune.Options.of(FP32, OpContext.DEFAULT));
    PrecisionPolicy wideState =
        PrecisionPolicy.fromMap(
            java.util.Map.of(
                "base",
                "pytorch-fp16",
                "sites",
                java.util.Map.of(
                    "adam.layers.3.mlp.down_proj.weight", java.util.Map.of("output", "fp32"))));

    RunResult r =
        ReproPipeline.run(
            f.source(),
            f.tok,
            settings(1, OptionalDouble.empty()),
            ReproPipeline.Mode.fixed(wideState),
            line -> {},
            ft);

    assertThat(r.anomaly().chain()).noneMatch(l -> l.at().site().name().startsWith("adam."));
    assertThat(r.records().getFirst().nonFiniteUpdate()).isZero();
  }
}
