package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.MatMul;
import io.nanscope.engine.op.Mul;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.op.RmsNorm;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The first-overflow report traced to the element: coordinates, token row, the operands and the
 * largest terms of the sum, and the producer/propagator role, on the engine's real ops under
 * pytorch-fp16. Every expected number is worked out by hand in the comments (all values are exact
 * in FP16 and their sums exact in FP32 and FP64, so the checks are equalities).
 */
class ElementTraceTest {

  static final FloatFormat H = FloatFormat.FP16;
  static final PrecisionPolicy POLICY = PrecisionPolicy.named("pytorch-fp16");
  static final Site DOWN = Site.of("layers", 1, "mlp", "down_proj");
  static final TokenRows ROWS = new TokenRows(new int[] {1, 42, 7}, new int[] {0, 1, 2}, 3);

  static Tensor h(long rows, long cols, float... v) {
    return Tensor.of(H, Shape.of(rows, cols), v);
  }

  static double operand(ElementTrace e, String prefix) {
    return e.operands().stream()
        .filter(o -> o.name().startsWith(prefix))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no operand " + prefix + " in " + e.operands()))
        .value();
  }

  /** x row 1 = (200, 100, 1, -2), W row 0 = (300, 100, 0.5, 1). */
  static Tensor matmulOverflow(OpContext ctx) {
    Tensor x = h(3, 4, 1, 1, 1, 1, 200, 100, 1, -2, 0, 0, 0, 0);
    Tensor w = h(2, 4, 300, 100, 0.5f, 1, 1, 1, 1, 1);
    return MatMul.forward(ctx, DOWN, POLICY.of(OpKind.MATMUL), x, w);
  }

  /**
   * y[1,0] = 200·300 + 100·100 + 1·0.5 + (−2)·1 = 60,000 + 10,000 + 0.5 − 2 = 69,998.5 ≥ 65,520:
   * inf from finite inputs at row 1 (token 42 at position 1), channel 0.
   */
  @Test
  void matmulProducerNamesTheTokenTheChannelAndTheLargestProducts() {
    AnomalyTracer anomaly = AnomalyTracer.recording(new TraceContext()).tokenText(id -> "t" + id);
    OpContext ctx = OpContext.DEFAULT.withTracer(anomaly);
    anomaly.rows(ROWS);
    matmulOverflow(ctx);

    FirstNonFinite ev = anomaly.first().orElseThrow();
    assertThat(ev.producer()).isTrue();
    assertThat(ev.role()).isEqualTo("producer");
    assertThat(ev.elements()).hasSize(1);
    ElementTrace e = ev.elements().getFirst();
    assertThat(e.coordinates()).containsExactly(1, 0);
    assertThat(e.value()).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(e.layer()).isEqualTo(1);
    assertThat(e.row()).isEqualTo(1);
    assertThat(e.batchRow()).isZero();
    assertThat(e.position()).isEqualTo(1);
    assertThat(e.token()).isEqualTo(42);
    assertThat(e.tokenText()).isEqualTo("t42");
    assertThat(e.channel()).isZero();
    assertThat(e.formula()).startsWith("y[t,n] = Σ_c x[t,c]·W[n,c], t = 1, n = 0");
    assertThat(e.termCount()).isEqualTo(4);
    assertThat(e.terms())
        .extracting(ElementTrace.Term::at, ElementTrace.Term::product)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("c=0", 60000.0),
            org.assertj.core.groups.Tuple.tuple("c=1", 10000.0),
            org.assertj.core.groups.Tuple.tuple("c=3", -2.0),
            org.assertj.core.groups.Tuple.tuple("c=2", 0.5));
    assertThat(e.terms().getFirst().a()).isEqualTo(200.0);
    assertThat(e.terms().getFirst().b()).isEqualTo(300.0);
    assertThat(operand(e, "the op's value before rounding to fp16")).isEqualTo(69998.5);
    assertThat(operand(e, "FP64 re-sum")).isEqualTo(69998.5);
    String text = ev.elementsReport("  ");
    assertThat(text)
        .startsWith("  forward layers.1.mlp.down_proj (matmul): producer: created inf from finite")
        .contains(
            "[1, 0] = +inf: layer 1, batch row 0, token position 1, token 42 \"t42\", channel 0")
        .contains("largest |x[t,c]·W[n,c]| of 4: c=0: 200 × 300 = 60,000; c=1: 100 × 100 = 10,000");
    String json = ev.toJson().toString();
    assertThat(json)
        .contains("\"role\":\"producer\"")
        .contains("\"token_text\":\"t42\"")
        .contains("\"position\":1");
  }

  /**
   * The next RMSNorm sees row 1 = (+inf, finite): Σx² = inf, rstd = 1/√inf = 0, inf·0 = NaN — a new
   * NaN from an input holding inf: the propagator, found by {@code firstNewNan()}.
   */
  @Test
  void rmsnormAfterTheOverflowIsThePropagator() {
    AnomalyTracer anomaly = AnomalyTracer.recording(new TraceContext());
    OpContext ctx = OpContext.DEFAULT.withTracer(anomaly);
    anomaly.rows(ROWS);
    Tensor y = matmulOverflow(ctx);
    RmsNorm.forward(
        ctx,
        Site.of("layers", 2, "input_layernorm"),
        POLICY.of(OpKind.RMSNORM),
        y,
        Tensor.of(H, Shape.of(2), 1f, 1f),
        1e-5);

    FirstNonFinite nan = anomaly.firstNewNan().orElseThrow();
    assertThat(nan).isNotSameAs(anomaly.first().orElseThrow());
    assertThat(nan.at().site().name()).isEqualTo("layers.2.input_layernorm");
    assertThat(nan.producer()).isFalse();
    assertThat(nan.role()).isEqualTo("propagator");
    assertThat(nan.roleLine())
        .isEqualTo("propagator: its inputs already held inf; it passed it on as NaN");
    ElementTrace e = nan.elements().getFirst();
    assertThat(e.coordinates()).containsExactly(1, 0);
    assertThat(e.layer()).isEqualTo(2);
    assertThat(e.token()).isEqualTo(42);
    assertThat(e.tokenText()).isEmpty(); // no decoder given
    assertThat(operand(e, "x[1,0]")).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(operand(e, "Σ_c x[1,c]²")).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(operand(e, "1/√mean")).isZero();
    assertThat(operand(e, "x[1,0]/√mean")).isNaN();
    assertThat(e.terms().getFirst().at()).isEqualTo("c=0");
    assertThat(e.terms().getFirst().product()).isEqualTo(Double.POSITIVE_INFINITY);
  }

  /**
   * Backward, stopping mode: dX[0,0] = Σ_n dY[0,n]·W[n,0] = 400·300 + 300·100 = 150,000 > 65,504;
   * the exception's event carries the element and the two products.
   */
  @Test
  void backwardMatmulDxRaisesWithItsOperands() {
    AnomalyTracer anomaly = AnomalyTracer.stopping(new TraceContext());
    OpContext ctx = OpContext.DEFAULT.withTracer(anomaly);
    Tape tape = new Tape();
    Var x = tape.param(h(1, 2, 0f, 0f), "x");
    Var w = tape.constant(h(2, 2, 300, 1, 100, 1), "w");
    Var y = MatMul.apply(tape, ctx, DOWN, POLICY.of(OpKind.MATMUL), x, w);
    NonFiniteException ex =
        catchThrowableOfType(NonFiniteException.class, () -> tape.backward(y, h(1, 2, 400, 300)));
    FirstNonFinite ev = ex.event().orElseThrow();
    assertThat(ev.at().phase()).isEqualTo(Phase.BACKWARD);
    assertThat(ev.at().op()).isEqualTo("matmul.dx");
    assertThat(ev.role()).isEqualTo("producer");
    ElementTrace e = ev.elements().getFirst();
    assertThat(e.coordinates()).containsExactly(0, 0);
    assertThat(e.formula()).startsWith("dx[t,c] = Σ_n dy[t,n]·W[n,c]");
    assertThat(e.terms())
        .extracting(ElementTrace.Term::at, ElementTrace.Term::product)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("n=0", 120000.0),
            org.assertj.core.groups.Tuple.tuple("n=1", 30000.0));
    assertThat(operand(e, "the op's value before rounding")).isEqualTo(150000.0);
  }

  /**
   * dW[0,0] = Σ_t dY[t,0]·x[t,0] = 300·200 + 300·200 = 120,000: the terms are token rows, named
   * when the pass's rows are known.
   */
  @Test
  void weightGradientTermsNameTheirTokens() {
    AnomalyTracer anomaly = AnomalyTracer.recording(new TraceContext()).tokenText(id -> "t" + id);
    OpContext ctx = OpContext.DEFAULT.withTracer(anomaly);
    anomaly.rows(new TokenRows(new int[] {5, 6}, new int[] {0, 1}, 2));
    MatMul.backwardWeight(
        ctx, DOWN, POLICY.of(OpKind.MATMUL), h(2, 1, 300, 300), h(2, 1, 200, 200), H);
    ElementTrace e = anomaly.first().orElseThrow().elements().getFirst();
    assertThat(e.row()).isEqualTo(-1); // a weight-shaped output has no token row
    assertThat(e.formula()).startsWith("dW[n,c] = Σ_t dy[t,n]·x[t,c]");
    assertThat(e.terms())
        .extracting(ElementTrace.Term::at)
        .containsExactly("t=0 (position 0 \"t5\")", "t=1 (position 1 \"t6\")");
    assertThat(operand(e, "FP64 re-sum")).isEqualTo(120000.0);
  }

  /** Element-wise: 300·300 = 90,000 ≥ 65,520; the operands are a and b at the same index. */
  @Test
  void elementwiseMulShowsItsOperands() {
    AnomalyTracer anomaly = AnomalyTracer.recording(new TraceContext());
    OpContext ctx = OpContext.DEFAULT.withTracer(anomaly);
    Mul.forward(
        ctx,
        Site.of("layers", 3, "mlp", "act_mul_up"),
        POLICY.of(OpKind.MUL),
        h(1, 2, 2, 300),
        h(1, 2, 3, 300));
    ElementTrace e = anomaly.first().orElseThrow().elements().getFirst();
    assertThat(e.coordinates()).containsExactly(0, 1);
    assertThat(e.row()).isEqualTo(-1); // no rows announced
    assertThat(e.formula()).isEqualTo("y = a·b");
    assertThat(e.operands())
        .extracting(ElementTrace.Operand::name, ElementTrace.Operand::value)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("a[0,1]", 300.0),
            org.assertj.core.groups.Tuple.tuple("b[0,1]", 300.0),
            org.assertj.core.groups.Tuple.tuple("the op's value before rounding to fp16", 90000.0));
  }

  /** Tracing the operands reads the inputs only: the op's output has the same bits untraced. */
  @Test
  void tracingChangesNoBitOfTheResult() {
    Tensor plain = matmulOverflow(OpContext.DEFAULT);
    AnomalyTracer anomaly = AnomalyTracer.recording(new TraceContext());
    anomaly.rows(ROWS);
    Tensor traced = matmulOverflow(OpContext.DEFAULT.withTracer(anomaly));
    assertThat(anomaly.first()).isPresent();
    assertThat(bits(traced)).isEqualTo(bits(plain));
  }

  static List<Integer> bits(Tensor t) {
    List<Integer> b = new java.util.ArrayList<>();
    for (long i = 0; i < t.size(); i++) {
      b.add(Float.floatToFloat16(t.get(i)) & 0xffff);
    }
    return b;
  }

  /** Rows must come with one position each and a row length of at least 1. */
  @Test
  void tokenRowsAreChecked() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> new TokenRows(new int[] {1, 2}, new int[] {0}, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("one position per token");
    assertThat(ROWS.batchRow(2)).isZero();
    assertThat(new TokenRows(new int[] {1, 2, 3, 4}, new int[] {0, 1, 0, 1}, 2).batchRow(3))
        .isEqualTo(1);
  }
}
