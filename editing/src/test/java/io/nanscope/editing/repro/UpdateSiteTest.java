package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.UpdateSite;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.Rome;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.MatMul;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.AnomalyTracer;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.llama.model.LlamaModel;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The weight update as a policy site ({@code layers.L.mlp.down_proj.update}): its default is the
 * storage format (the bits of every existing policy), a site override widens it, the tracer names
 * it, and there are runs that only widening it can fix.
 */
class UpdateSiteTest {

  static PrecisionPolicy withSites(String base, Map<String, String> outputBySite) {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("name", "test");
    root.put("base", base);
    Map<String, Object> sites = new LinkedHashMap<>();
    outputBySite.forEach((s, f) -> sites.put(s, Map.of("output", f)));
    root.put("sites", sites);
    return PrecisionPolicy.fromMap(root);
  }

  static PrecisionPolicy updateWide(int layer) {
    return withSites("pytorch-fp16", Map.of(UpdateSite.of(layer).name(), "fp32"));
  }

  @Test
  void defaultIsTheStorageFormatAndOnlyAnOverrideOfTheSiteChangesIt() {
    for (String name : PrecisionPolicy.BUILT_IN) {
      PrecisionPolicy p = PrecisionPolicy.named(name);
      assertThat(UpdateSite.format(p, 1)).as(name).isEqualTo(p.storage());
    }
    assertThat(UpdateSite.of(3).name()).isEqualTo("layers.3.mlp.down_proj.update");
    assertThat(UpdateSite.format(updateWide(1), 1)).isEqualTo(FloatFormat.FP32);
    assertThat(UpdateSite.format(updateWide(1), 2)).isEqualTo(FloatFormat.FP16);
    // the down_proj op's pattern does not reach the update site; "**" does
    PrecisionPolicy downWide = withSites("pytorch-fp16", Map.of("layers.*.mlp.down_proj", "fp32"));
    assertThat(UpdateSite.format(downWide, 1)).isEqualTo(FloatFormat.FP16);
    assertThat(UpdateSite.format(withSites("pytorch-fp16", Map.of("**", "bf16")), 1))
        .isEqualTo(FloatFormat.BF16);
    // wider than FP32 is FP32 (r is a float array)
    assertThat(UpdateSite.format(withSites("pytorch-fp16", Map.of("**", "fp64")), 1))
        .isEqualTo(FloatFormat.FP32);
  }

  /**
   * SYNTHETIC (C = 4, F = 16, made-up numbers): ROME's last step for a subject key k* nearly
   * orthogonal to u (k*ᵀu = 3e-5, the disabling regime): r = (v* − W k*)/(k*ᵀu) reaches 1e5, past
   * FP16's 65,504, while each entry of r ⊗ u (u = 0.25 everywhere) stays below 25,000. Computed in
   * FP16 (the default) r is inf and W′ holds inf; no forward site can help, because the weights
   * themselves are inf (down_proj in FP32 still gives inf). With only the update site widened W′ is
   * finite, and the down_proj forward on two probe keys is finite in FP16 too.
   */
  @Test
  void syntheticOnlyWideningTheUpdateSiteMakesTheRunFinite() {
    int c = 4, f = 16;
    float[] u = new float[f];
    java.util.Arrays.fill(u, 0.25f); // ‖u‖ = 1, exact in FP16
    Tensor w = Tensor.zeros(FloatFormat.FP16, Shape.of(c, f));
    for (int i = 0; i < c; i++) {
      for (int j = 0; j < f; j++) {
        w.set((long) i * f + j, 0.01f * (i - j));
      }
    }
    float[] curOutput = {0.5f, -0.25f, 0.125f, 0f};
    float[] target = {3.5f, -2.25f, 1.125f, 0.5f}; // v* − W k* = (3, −2, 1, 0.5)
    double factor = 3e-5;
    // probe keys: one orthogonal to u, one with uᵀk = 2⁻⁷ (W′k ≈ Wk + r/128, about 800)
    float[] a = new float[f];
    for (int j = 0; j < f; j++) {
      a[j] = j % 2 == 0 ? 0.5f : -0.5f;
    }
    Tensor keys = Tensor.zeros(FloatFormat.FP16, Shape.of(2, f));
    for (int j = 0; j < f; j++) {
      keys.set(j, a[j]);
      keys.set(f + j, a[j] + 0x1p-9f);
    }

    RankOneStep narrow = RankOneStep.of(1, target, curOutput, u, factor, w);
    RankOneStep wide =
        RankOneStep.of(1, target, curOutput, u, factor, w, UpdateSite.format(updateWide(1), 1));
    assertThat(narrow.updateFormat()).isEqualTo(FloatFormat.FP16);
    assertThat(Float.isInfinite(narrow.r()[0])).isTrue();
    assertThat(narrow.nonFiniteWeights()).isPositive();
    assertThat(wide.updateFormat()).isEqualTo(FloatFormat.FP32);
    assertThat(wide.nonFiniteWeights()).isZero();

    // W′ against an independent reference: r = fp32(diff / factor), the product in FP32, the
    // sum rounded to FP16 through the JDK's conversion (via float: a double rounding the engine
    // does not do, so the budget is one FP16 ulp; the sum itself is exact in double).
    for (int i = 0; i < c; i++) {
      float r = (float) ((target[i] - curOutput[i]) / factor);
      assertThat(wide.r()[i]).isEqualTo(r);
      for (int j = 0; j < f; j++) {
        double sum = w.getDouble((long) i * f + j) + (double) (float) ((double) r * u[j]);
        float ref = Float.float16ToFloat(Float.floatToFloat16((float) sum));
        float got = (float) wide.updated().getDouble((long) i * f + j);
        float fp16Ulp = Math.scalb(1f, Math.getExponent(ref) - 10); // |ref| >= 2^-14 here
        assertThat(Math.abs(got - ref)).as("W'[%d,%d]", i, j).isLessThanOrEqualTo(fp16Ulp);
      }
    }

    PrecisionPolicy fp16 = PrecisionPolicy.named("pytorch-fp16");
    Site down = Site.of("layers", 1, "mlp", "down_proj");
    Tensor yWide =
        MatMul.forward(OpContext.DEFAULT, down, fp16.of(OpKind.MATMUL, down), keys, wide.updated());
    for (long i = 0; i < yWide.size(); i++) {
      assertThat(Double.isFinite(yWide.getDouble(i))).as("y[%d]", i).isTrue();
    }
    // the narrow update: no forward site can help, even down_proj in FP32
    PrecisionPolicy downWide = withSites("pytorch-fp16", Map.of(down.name(), "fp32"));
    Tensor yNarrow =
        MatMul.forward(
            OpContext.DEFAULT, down, downWide.of(OpKind.MATMUL, down), keys, narrow.updated());
    boolean anyNonFinite = false;
    for (long i = 0; i < yNarrow.size(); i++) {
      anyNonFinite |= !Double.isFinite(yNarrow.getDouble(i));
    }
    assertThat(anyNonFinite).isTrue();
  }

  /**
   * The tracer names the update site: the first non-finite value of the narrow synthetic update is
   * reported at {@code layers.1.mlp.down_proj.update} (op div, the right vector), born there.
   */
  @Test
  void theTracerReportsTheUpdateSite() {
    int c = 2, f = 4;
    float[] u = {0.5f, 0.5f, 0.5f, 0.5f};
    Tensor w = Tensor.zeros(FloatFormat.FP16, Shape.of(c, f));
    RankOneStep s = RankOneStep.of(1, new float[] {3f, 1f}, new float[] {0f, 0f}, u, 3e-5, w);
    AnomalyTracer anomaly = AnomalyTracer.recording(new TraceContext());
    s.report(anomaly, w, u);
    var first = anomaly.first().orElseThrow();
    assertThat(first.at().site().name()).isEqualTo("layers.1.mlp.down_proj.update");
    assertThat(first.at().op()).isEqualTo("div");
    assertThat(first.producer()).isTrue();
  }

  /**
   * On the embedded model (1 edit, FP16, bare context) with the labelled kᵀu override 3e-5: by
   * default r overflows FP16 and W′ holds inf (the sweep's third regime); with the update site
   * widened r and W′ are finite, and W′ is stored in FP16 as before.
   */
  @Test
  void romeOnTheEmbeddedModelAt3em5IsFiniteOnlyWithTheUpdateWidened() throws Exception {
    ReproFixture fx = new ReproFixture();
    EditRequest req = fx.records.getFirst();
    Rome.LayerUpdate narrow = edit(fx, req, PrecisionPolicy.named("pytorch-fp16"));
    Rome.LayerUpdate wide = edit(fx, req, updateWide(1));
    assertThat(narrow.nonFiniteWeights()).isPositive();
    assertThat(wide.nonFiniteWeights()).isZero();
    for (float r : wide.r()) {
      assertThat(Float.isFinite(r)).isTrue();
    }
    assertThat(wide.updated().format()).isEqualTo(FloatFormat.FP16);
  }

  private static Rome.LayerUpdate edit(ReproFixture fx, EditRequest req, PrecisionPolicy p)
      throws Exception {
    LlamaModel m = fx.source().load(p.storage());
    Rome.Outcome o =
        Rome.compute(
            m,
            fx.tok,
            fx.hp,
            req.forRome(),
            ContextTemplates.bare(),
            Rome.Options.of(p, OpContext.DEFAULT).withDivisionFactor(3e-5),
            EditLog.NONE);
    return o.layers().getFirst();
  }
}
