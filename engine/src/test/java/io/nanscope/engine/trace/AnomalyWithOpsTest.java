package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.MatMul;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.op.RmsNorm;
import io.nanscope.engine.op.SwiGlu;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The anomaly tracer on the engine's real ops (pytorch-fp16 policy): a planted overflow is found at
 * the right site, in the forward pass and in the backward pass.
 */
class AnomalyWithOpsTest {

  static final FloatFormat H = FloatFormat.FP16;
  static final PrecisionPolicy POLICY = PrecisionPolicy.named("pytorch-fp16");
  static final Site MLP = Site.of("layers", 30, "mlp");

  static Tensor h(long rows, long cols, float... v) {
    return Tensor.of(H, Shape.of(rows, cols), v);
  }

  /**
   * gate = x·Wgᵀ = 128 + 127.875 = 255.875 and up = 130 + 131.75 = 261.75 (exact in the FP32
   * accumulator), so silu(gate)·up ≈ 66,975 > 65,504: the SwiGLU product is the first inf.
   */
  @Test
  void forwardStopsAtTheSwigluProduct() {
    TraceContext context = new TraceContext().setRecord(2).setStep(5);
    AnomalyTracer anomaly = AnomalyTracer.recording(context);
    StatsTracer stats = new StatsTracer(context);
    OpContext ctx = OpContext.DEFAULT.withTracer(CompositeTracer.of(anomaly, stats));
    Tensor x = h(1, 2, 1f, 1f);
    Tensor gate =
        MatMul.forward(
            ctx, MLP.child("gate_proj"), POLICY.of(OpKind.MATMUL), x, h(1, 2, 128f, 127.875f));
    Tensor up =
        MatMul.forward(
            ctx, MLP.child("up_proj"), POLICY.of(OpKind.MATMUL), x, h(1, 2, 130f, 131.75f));
    Tensor act = SwiGlu.forward(ctx, MLP.child("act"), POLICY.of(OpKind.SWIGLU), gate, up);
    Tensor down =
        MatMul.forward(
            ctx, MLP.child("down_proj"), POLICY.of(OpKind.MATMUL), act, h(2, 1, 1f, -1f));
    RmsNorm.forward(
        ctx,
        Site.of("layers", 31, "input_layernorm"),
        POLICY.of(OpKind.RMSNORM),
        down,
        Tensor.of(H, Shape.of(2), 1f, 1f),
        1e-5);

    FirstNonFinite first = anomaly.first().orElseThrow();
    assertThat(first.at().site().name()).isEqualTo("layers.30.mlp.act");
    assertThat(first.at().phase()).isEqualTo(Phase.FORWARD);
    assertThat(first.at().step()).isEqualTo(5);
    assertThat(first.at().context().record()).isEqualTo(2);
    assertThat(first.inputs().get(0).maxAbs()).isEqualTo(255.875);
    assertThat(first.inputs().get(1).maxAbs()).isEqualTo(261.75);
    assertThat(first.output().overflow()).isEqualTo(1);
    assertThat(first.offending().getFirst().bits().hex()).isEqualTo("0x7c00");
    assertThat(first.offending().getFirst().unrounded()).isBetween(66975.0, 66976.0);
    assertThat(first.limitCrossed())
        .startsWith("|x| = 66,975.")
        .contains("maxFinite 65,504 of fp16");
    // The chain of issue 6: act (new inf) -> down_proj carries it as (+inf, -inf) -> the next
    // RMSNorm turns inf into NaN (inf/inf): a new kind, so a second event, from non-finite inputs.
    assertThat(anomaly.chain())
        .extracting(l -> l.at().site().name())
        .containsExactly(
            "layers.30.mlp.act", "layers.30.mlp.down_proj", "layers.31.input_layernorm");
    assertThat(anomaly.chain()).extracting(ChainLink::origin).containsExactly(true, false, true);
    assertThat(anomaly.events().get(1).newNan()).isTrue();
    assertThat(anomaly.events().get(1).inputsFinite()).isFalse();
    // Every op also reached the stats tracer.
    assertThat(stats.rows()).hasSize(5);
  }

  /**
   * Forward y = x·Wᵀ = (1000, 1000) is finite; backward dX = dY·W with dY = (100, 100) is 100·1000
   * + 100·1000 = 200,000 > 65,504: the stopping tracer throws in BACKWARD at matmul.dx.
   */
  @Test
  void backwardStopsAtTheFirstGradientThatOverflows() {
    AnomalyTracer anomaly = AnomalyTracer.stopping(new TraceContext());
    OpContext ctx = OpContext.DEFAULT.withTracer(anomaly);
    Tape tape = new Tape();
    Var x = tape.param(h(1, 1, 1f), "x");
    Var w = tape.constant(h(2, 1, 1000f, 1000f), "w");
    Precision p = POLICY.of(OpKind.MATMUL);
    Var y = MatMul.apply(tape, ctx, MLP.child("down_proj"), p, x, w);
    assertThat(y.value().toFloatArray()).containsExactly(1000f, 1000f);
    NonFiniteException e =
        catchThrowableOfType(NonFiniteException.class, () -> tape.backward(y, h(1, 2, 100f, 100f)));
    FirstNonFinite ev = e.event().orElseThrow();
    assertThat(ev.at().phase()).isEqualTo(Phase.BACKWARD);
    assertThat(ev.at().site().name()).isEqualTo("layers.30.mlp.down_proj");
    assertThat(ev.at().op()).isEqualTo("matmul.dx");
    assertThat(ev.at().opIndex()).isEqualTo(1); // the forward matmul was op 0
    assertThat(ev.offending().getFirst().unrounded()).isEqualTo(200000.0);
    assertThat(ev.limitCrossed()).startsWith("|x| = 200,000 > maxFinite 65,504 of fp16");
  }
}
