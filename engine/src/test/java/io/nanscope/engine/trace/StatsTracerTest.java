package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StatsTracerTest {

  static OpRecord rec(String site, Phase phase, int step, Tensor out) {
    return new OpRecord(new Site(site), "op", phase, step, List.of(), out, null);
  }

  static Tensor h(float... v) {
    return Tensor.of(FloatFormat.FP16, Shape.of(v.length), v);
  }

  @Test
  void recordsOneRowPerOpWithContextAndMergesBySite() {
    TraceContext ctx = new TraceContext().setRecord(1).setLabel("fp16");
    StatsTracer tracer = new StatsTracer(ctx, Set.of(Phase.FORWARD, Phase.BACKWARD));
    for (int step = 0; step < 3; step++) {
      ctx.setStep(step);
      tracer.record(rec("layers.2.mlp.down_proj", Phase.FORWARD, -1, h(1f, -(step + 1) * 100f)));
      tracer.record(rec("layers.2.mlp.down_proj", Phase.BACKWARD, -1, h(1e-7f, 0f)));
      tracer.record(rec("adam.delta", Phase.OPTIMIZER, -1, h(1f))); // filtered out
    }
    assertThat(tracer.rows()).hasSize(6);
    assertThat(tracer.rows().get(2).at().step()).isEqualTo(1);
    assertThat(tracer.rows().get(2).at().opIndex()).isEqualTo(3); // filtered records still count
    assertThat(tracer.rows().get(0).at().context().record()).isEqualTo(1);

    List<SiteStats> bySite = tracer.bySite();
    assertThat(bySite).hasSize(2);
    SiteStats fwd = bySite.get(0);
    assertThat(fwd.at().phase()).isEqualTo(Phase.FORWARD);
    assertThat(fwd.times()).isEqualTo(3);
    assertThat(fwd.output().maxAbs()).isEqualTo(300.0);
    assertThat(fwd.output().count()).isEqualTo(6);
    assertThat(fwd.layer()).isEqualTo(2);
    assertThat(fwd.siteInLayer()).isEqualTo("mlp.down_proj");
    SiteStats bwd = bySite.get(1);
    assertThat(bwd.output().subnormal()).isEqualTo(3);
    assertThat(bwd.output().zero()).isEqualTo(3);

    tracer.clear();
    assertThat(tracer.rows()).isEmpty();
  }

  @Test
  void compositeDeliversToEveryTracerBeforeRethrowing() {
    TraceContext ctx = new TraceContext();
    StatsTracer stats = new StatsTracer(ctx);
    AnomalyTracer anomaly = AnomalyTracer.stopping(ctx);
    StatsTracer after = new StatsTracer(ctx);
    Tracer all = CompositeTracer.of(Tracer.NONE, anomaly, stats, after);
    assertThat(all.enabled()).isTrue();
    assertThat(((CompositeTracer) all).parts()).containsExactly(anomaly, stats, after);

    all.record(rec("a", Phase.FORWARD, 0, h(1f)));
    NonFiniteException e =
        catchThrowableOfType(
            NonFiniteException.class,
            () -> all.record(rec("b", Phase.FORWARD, 0, h(Float.POSITIVE_INFINITY))));
    assertThat(e.event().orElseThrow().at().site().name()).isEqualTo("b");
    assertThat(stats.rows()).hasSize(2);
    assertThat(after.rows()).hasSize(2);
    assertThat(CompositeTracer.of(Tracer.NONE, Tracer.NONE)).isSameAs(Tracer.NONE);
    assertThat(CompositeTracer.of(Tracer.NONE, stats)).isSameAs(stats);
  }

  @Test
  void tableIsAlignedAndMarksTheTightestSites() {
    StatsTracer tracer = new StatsTracer(new TraceContext());
    tracer.record(rec("tok_embeddings", Phase.FORWARD, 0, h(0.5f)));
    tracer.record(rec("layers.0.mlp.swiglu", Phase.FORWARD, 0, h(1000f)));
    tracer.record(rec("layers.0.mlp.down_proj", Phase.FORWARD, 0, h(4f)));
    tracer.record(rec("layers.1.mlp.swiglu", Phase.FORWARD, 0, h(60000f)));
    tracer.record(rec("layers.1.mlp.down_proj", Phase.FORWARD, 0, h(Float.POSITIVE_INFINITY)));
    Tensor big = Tensor.of(FloatFormat.FP32, Shape.of(1), 1e6f);
    tracer.record(rec("logits", Phase.FORWARD, 0, big));

    String table = StatsTable.render(tracer.rows(), FloatFormat.FP16, 2);
    List<String> lines = table.lines().toList();
    assertThat(lines).hasSize(8);
    assertThat(lines.get(0)).contains("layer").contains("headroom fp16").contains("headroom bf16");
    assertThat(lines.get(1)).matches("[- ]+");
    // Columns line up: "max|x|" ends at the same offset on every line.
    int end = lines.get(0).indexOf("max|x|") + "max|x|".length();
    assertThat(lines.get(4).substring(0, end)).endsWith("4.000");
    assertThat(lines.get(5).substring(0, end)).endsWith("6.000e+04");
    // layers.1.mlp.swiglu (60000: 0.13 binades) is the tightest, layers.0 swiglu next;
    // the inf row and the 1e6 FP32 logits (negative FP16 headroom) get "!!".
    assertThat(lines.get(5)).startsWith("<1").contains("  1  mlp.swiglu").contains("0.13");
    assertThat(lines.get(3)).startsWith("<2");
    assertThat(lines.get(6)).startsWith("!!").contains("-inf");
    assertThat(lines.get(7)).startsWith("!!").contains("-3.93").contains("  -  logits");
    assertThat(lines.get(2)).startsWith("  ").contains("tok_embeddings");
    assertThat(lines.get(2)).doesNotContain("<");
  }
}
