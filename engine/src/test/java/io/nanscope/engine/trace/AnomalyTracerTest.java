package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Scripted sequences of OpRecords, as the ops of a forward and backward pass would send them. */
class AnomalyTracerTest {

  static final FloatFormat H = FloatFormat.FP16;
  static final FloatFormat F = FloatFormat.FP32;

  static Tensor t(FloatFormat f, long rows, long cols, float... v) {
    return Tensor.of(f, Shape.of(rows, cols), v);
  }

  static OpRecord rec(String site, String op, Phase phase, List<Tensor> in, Tensor out, Tensor u) {
    return new OpRecord(new Site(site), op, phase, -1, in, out, u);
  }

  /**
   * The Llama MLP failure of transformers #27179 in miniature: gate 255.875 x up 261.75 = 66,975.28
   * > 65,504 -> inf in the SwiGLU product, then NaN after the next RMSNorm.
   */
  static List<OpRecord> forwardOverflowScript() {
    Tensor x = t(H, 1, 2, 1f, 2f);
    Tensor gate = t(H, 1, 2, 255.875f, 3f);
    Tensor up = t(H, 1, 2, 261.75f, 2f);
    float product = 255.875f * 261.75f; // 66975.28125, exact in FP32 (checked below)
    Tensor swigluU = t(F, 1, 2, product, 6f);
    Tensor swiglu = t(H, 1, 2, product, 6f); // rounds to +inf in FP16
    Tensor down = t(H, 1, 2, Float.POSITIVE_INFINITY, Float.NaN);
    Tensor normed = t(H, 1, 2, Float.NaN, Float.NaN);
    Tensor logits = t(F, 1, 2, Float.NaN, Float.NaN);
    return List.of(
        rec("layers.0.mlp.gate_proj", "matmul", Phase.FORWARD, List.of(x), gate, null),
        rec("layers.0.mlp.up_proj", "matmul", Phase.FORWARD, List.of(x), up, null),
        rec("layers.0.mlp.swiglu", "swiglu", Phase.FORWARD, List.of(gate, up), swiglu, swigluU),
        rec("layers.0.mlp.down_proj", "matmul", Phase.FORWARD, List.of(swiglu), down, null),
        rec("layers.1.input_layernorm", "rmsnorm", Phase.FORWARD, List.of(down), normed, null),
        rec("lm_head", "matmul", Phase.FORWARD, List.of(normed), logits, null));
  }

  @Test
  void stopsAtTheFirstOpWhoseOutputTurnedNonFinite() {
    TraceContext ctx = new TraceContext().setRecord(3).setStep(7).setLabel("fp16 stress");
    AnomalyTracer tracer = AnomalyTracer.stopping(ctx);
    List<OpRecord> script = forwardOverflowScript();
    tracer.record(script.get(0));
    tracer.record(script.get(1));
    NonFiniteException e =
        catchThrowableOfType(NonFiniteException.class, () -> tracer.record(script.get(2)));

    assertThat(e.record()).isSameAs(script.get(2));
    FirstNonFinite ev = e.event().orElseThrow();
    assertThat(ev.at().site().name()).isEqualTo("layers.0.mlp.swiglu");
    assertThat(ev.at().op()).isEqualTo("swiglu");
    assertThat(ev.at().phase()).isEqualTo(Phase.FORWARD);
    assertThat(ev.at().opIndex()).isEqualTo(2);
    assertThat(ev.at().step()).isEqualTo(7); // the op gave -1: the context's step
    assertThat(ev.at().context().record()).isEqualTo(3);
    assertThat(ev.at().context().label()).isEqualTo("fp16 stress");
    assertThat(ev.newInf()).isTrue();
    assertThat(ev.newNan()).isFalse();
    assertThat(ev.inputsFinite()).isTrue();
    assertThat(ev.inputs()).hasSize(2);
    assertThat(ev.inputs().get(0).maxAbs()).isEqualTo(255.875);
    assertThat(ev.inputs().get(1).maxAbs()).isEqualTo(261.75);
    assertThat(ev.output().posInf()).isEqualTo(1);
    assertThat(ev.output().overflow()).isEqualTo(1);

    // 255.875 * 261.75 = 66975.28125 exactly (BigDecimal check), and FP32 holds it exactly.
    assertThat(new java.math.BigDecimal("255.875").multiply(new java.math.BigDecimal("261.75")))
        .isEqualByComparingTo(new java.math.BigDecimal(255.875f * 261.75f));
    assertThat(ev.offending()).hasSize(1);
    OffendingValue v = ev.offending().getFirst();
    assertThat(v.index()).isZero();
    assertThat(v.coordinates()).containsExactly(0, 0);
    assertThat(v.value()).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(v.bits().hex()).isEqualTo("0x7c00");
    assertThat(v.bits().fields()).isEqualTo("0 11111 0000000000");
    assertThat(v.unrounded()).isEqualTo(66975.28125);
    assertThat(ev.limitCrossed())
        .isEqualTo("|x| = 66,975.281 > maxFinite 65,504 of fp16 (values >= 65,520 round to inf)");
    assertThat(e.getMessage())
        .isEqualTo(
            "record 3 forward layers.0.mlp.swiglu (swiglu) step 7: 1 inf, 0 NaN in fp16 from finite"
                + " inputs; |x| = 66,975.281 > maxFinite 65,504 of fp16 (values >= 65,520 round to inf)");
    assertThat(ev.report()).contains("input 0: fp16 max|x| 255.875").contains("[0, 0] = +inf");
  }

  @Test
  void recordingModeKeepsEveryEventAndTheChain() {
    AnomalyTracer tracer = AnomalyTracer.recording(new TraceContext());
    forwardOverflowScript().forEach(tracer::record);

    assertThat(tracer.opsSeen()).isEqualTo(6);
    // swiglu: new inf from finite inputs; down_proj: NaN from an input holding inf (a new kind);
    // rmsnorm and lm_head only carry NaN forward.
    assertThat(tracer.events())
        .extracting(ev -> ev.at().site().name())
        .containsExactly("layers.0.mlp.swiglu", "layers.0.mlp.down_proj");
    FirstNonFinite second = tracer.events().get(1);
    assertThat(second.newNan()).isTrue();
    assertThat(second.newInf()).isFalse(); // its inf came in with the input
    assertThat(second.inputsFinite()).isFalse();
    assertThat(second.limitCrossed()).startsWith("NaN from inputs holding inf");
    assertThat(second.offending()).extracting(OffendingValue::index).containsExactly(1L);
    assertThat(second.offending().getFirst().bits().hex()).isEqualTo("0x7e00");
    assertThat(tracer.chain())
        .extracting(ChainLink::describe)
        .containsExactly(
            "forward layers.0.mlp.swiglu (swiglu): 0 NaN, 1 inf [new]",
            "forward layers.0.mlp.down_proj (matmul): 1 NaN, 1 inf [new]",
            "forward layers.1.input_layernorm (rmsnorm): 2 NaN, 0 inf",
            "forward lm_head (matmul): 2 NaN, 0 inf");
    assertThat(tracer.first().orElseThrow().at().site().name()).isEqualTo("layers.0.mlp.swiglu");
  }

  @Test
  void findsTheFirstNonFiniteOpInTheBackwardPass() {
    AnomalyTracer tracer = AnomalyTracer.stopping(new TraceContext());
    Tensor x = t(H, 1, 3, 1f, 2f, 3f);
    Tensor dLogits = t(H, 1, 3, 0.5f, -0.25f, 1e-3f);
    Tensor w = t(H, 3, 1, 40000f, 2f, 1f);
    Tensor dHidden = t(F, 1, 1, 20000f - 0.5f); // a finite backward op
    // dW = dY^T . X overflows: 40000 * 2 -> FP32 80000 -> FP16 inf.
    Tensor dwU = t(F, 1, 3, 80000f, 1f, -80000f);
    Tensor dw = t(H, 1, 3, 80000f, 1f, -80000f);
    tracer.record(rec("layers.0.mlp.down_proj", "matmul", Phase.FORWARD, List.of(x, w), x, null));
    tracer.record(
        rec("lm_head", "matmul.backward", Phase.BACKWARD, List.of(dLogits, w), dHidden, null));
    NonFiniteException e =
        catchThrowableOfType(
            NonFiniteException.class,
            () ->
                tracer.record(
                    rec(
                        "layers.0.mlp.down_proj",
                        "matmul.backward.dW",
                        Phase.BACKWARD,
                        List.of(dLogits, x),
                        dw,
                        dwU)));
    FirstNonFinite ev = e.event().orElseThrow();
    assertThat(ev.at().phase()).isEqualTo(Phase.BACKWARD);
    assertThat(ev.at().op()).isEqualTo("matmul.backward.dW");
    assertThat(ev.at().opIndex()).isEqualTo(2);
    assertThat(ev.offending()).extracting(o -> o.bits().hex()).containsExactly("0x7c00", "0xfc00");
    assertThat(ev.offending().get(1).coordinates()).containsExactly(0, 2);
    assertThat(ev.limitCrossed()).startsWith("|x| = 80,000 > maxFinite 65,504 of fp16");
  }

  @Test
  void ignoresNanAndInfAlreadyPresentInInputs() {
    AnomalyTracer tracer = AnomalyTracer.stopping(new TraceContext());
    Tensor poisoned = t(F, 1, 2, Float.NaN, 1f);
    Tensor out = t(F, 1, 2, Float.NaN, Float.NaN);
    tracer.record(rec("layers.0.attn", "matmul", Phase.FORWARD, List.of(poisoned), out, null));
    // A causal mask handed in as an input: -inf in, -inf out, not born here.
    Tensor mask = t(F, 1, 2, 0f, Float.NEGATIVE_INFINITY);
    Tensor scores = t(F, 1, 2, 0.5f, Float.NEGATIVE_INFINITY);
    tracer.record(rec("layers.0.attn.scores", "add", Phase.FORWARD, List.of(mask), scores, null));
    assertThat(tracer.events()).isEmpty();
    assertThat(tracer.chain()).isEmpty(); // the chain starts at the first event only
    assertThat(tracer.opsSeen()).isEqualTo(2);
  }

  @Test
  void nanFromFiniteInputsIsAnInvalidOperation() {
    AnomalyTracer tracer = AnomalyTracer.recording(new TraceContext());
    Tensor in = t(F, 1, 1, 0f);
    Tensor out = t(F, 1, 1, Float.NaN);
    tracer.record(new OpRecord(new Site("loss"), "div", Phase.FORWARD, 4, List.of(in), out, null));
    FirstNonFinite ev = tracer.first().orElseThrow();
    assertThat(ev.at().step()).isEqualTo(4); // the op's own step wins over the context
    assertThat(ev.limitCrossed()).startsWith("NaN from finite inputs");
    assertThat(ev.offending().getFirst().bits().hex()).isEqualTo("0x7fc00000");
  }

  @Test
  void fp32OverflowWithoutUnroundedValuesNamesTheFp32Limit() {
    AnomalyTracer tracer = AnomalyTracer.recording(new TraceContext());
    Tensor in = t(F, 1, 1, 3e38f);
    Tensor out = t(F, 1, 1, Float.POSITIVE_INFINITY);
    tracer.record(rec("loss", "exp", Phase.FORWARD, List.of(in), out, null));
    assertThat(tracer.first().orElseThrow().limitCrossed())
        .isEqualTo("|x| > maxFinite 3.4028e+38 of fp32 (or a division by zero)");
  }

  @Test
  void offendingValuesAreCappedAndTheChainIsBounded() {
    AnomalyTracer tracer =
        new AnomalyTracer(AnomalyTracer.Mode.RECORD_ALL, new TraceContext(), 3, 2);
    Tensor in = t(F, 1, 1, 1f);
    float[] inf = new float[10];
    java.util.Arrays.fill(inf, Float.POSITIVE_INFINITY);
    Tensor out = t(H, 2, 5, inf);
    for (int i = 0; i < 4; i++) {
      tracer.record(rec("s" + i, "op", Phase.FORWARD, List.of(i == 0 ? in : out), out, null));
    }
    assertThat(tracer.events()).hasSize(1);
    assertThat(tracer.events().getFirst().offending())
        .extracting(OffendingValue::index)
        .containsExactly(0L, 1L, 2L);
    assertThat(tracer.chain()).hasSize(2);
    assertThat(tracer.chainDropped()).isEqualTo(2);
    assertThatThrownBy(
            () -> new AnomalyTracer(AnomalyTracer.Mode.RECORD_ALL, new TraceContext(), -1, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void overflowThresholdIsMaxFinitePlusHalfAnUlpOfTheTopBinade() {
    // Independent: the smallest float that JDK's floatToFloat16 sends to inf is 65520.
    assertThat(Float.float16ToFloat(Float.floatToFloat16(65520f))).isInfinite();
    assertThat(Float.float16ToFloat(Float.floatToFloat16(Math.nextDown(65520f)))).isEqualTo(65504f);
    assertThat(TensorStats.overflowThreshold(FloatFormat.FP16)).isEqualTo(65520.0);
    assertThat(TensorStats.thresholdOverflows(FloatFormat.FP16)).isTrue();
    // BF16: 0x7F7F8000 as FP32 bits is the midpoint above bf16 max; FP32 max + half ulp for FP32.
    assertThat(TensorStats.overflowThreshold(FloatFormat.BF16))
        .isEqualTo((double) Float.intBitsToFloat(0x7F7F8000));
    assertThat(TensorStats.overflowThreshold(FloatFormat.FP32))
        .isEqualTo(Float.MAX_VALUE + Math.scalb(1.0, 103));
    // docs/reference/numerics.md §3: E5M2 goes to inf at >= 61440. E4M3FN: max 448 = 1.110b x 2^8,
    // next
    // (unrepresentable) step 480, midpoint 464; 448's last mantissa bit is 0, so the tie rounds
    // DOWN and only values above 464 overflow (to NaN: no infinity).
    assertThat(TensorStats.overflowThreshold(FloatFormat.FP8_E5M2)).isEqualTo(61440.0);
    assertThat(TensorStats.thresholdOverflows(FloatFormat.FP8_E5M2)).isTrue();
    assertThat(TensorStats.overflowThreshold(FloatFormat.FP8_E4M3)).isEqualTo(464.0);
    assertThat(TensorStats.thresholdOverflows(FloatFormat.FP8_E4M3)).isFalse();
  }

  @Test
  void fp8E4m3OverflowIsANanWithTheValueThatCrossed() {
    AnomalyTracer tracer = AnomalyTracer.recording(new TraceContext());
    Tensor in = t(F, 1, 2, 20f, 25f);
    Tensor u = t(F, 1, 2, 500f, 400f);
    Tensor out = t(FloatFormat.FP8_E4M3, 1, 2, 500f, 400f); // 500 -> NaN, 400 -> 384 or 416
    assertThat(out.get(0)).isNaN();
    tracer.record(rec("layers.0.mlp.swiglu", "swiglu", Phase.FORWARD, List.of(in), out, u));
    FirstNonFinite ev = tracer.first().orElseThrow();
    assertThat(ev.newNan()).isTrue();
    assertThat(ev.output().overflow()).isEqualTo(1);
    assertThat(ev.offending().getFirst().bits().hex()).isEqualTo("0x7f");
    assertThat(ev.limitCrossed())
        .isEqualTo(
            "|x| = 500 > maxFinite 448 of fp8-e4m3 (values > 464 round to NaN: no infinity)");
  }
}
