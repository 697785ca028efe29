package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.Tracer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** NaN/inf propagation and the FP16 failure modes the policies exist to show. */
class OverflowAndNanTest {

  private static final FloatFormat FP16 = FloatFormat.FP16, FP32 = FloatFormat.FP32;
  private static final Precision PYTORCH = PrecisionPolicy.named("pytorch-fp16").of(OpKind.RMSNORM);
  private static final Precision NAIVE = PrecisionPolicy.named("naive-fp16").of(OpKind.RMSNORM);
  private static final OpContext CTX = OpContext.DEFAULT;
  private static final Site S = Site.of("layers", 30, "mlp");

  /** Collects every record. */
  static final class Recorder implements Tracer {
    final List<OpRecord> records = new ArrayList<>();

    @Override
    public boolean enabled() {
      return true;
    }

    @Override
    public void record(OpRecord r) {
      records.add(r);
    }
  }

  private static Tensor row(FloatFormat f, float... v) {
    return Tensor.of(f, Shape.of(1, v.length), v);
  }

  @Test
  void swigluOverflowsInFp16AndTheTracerSeesTheUnroundedValue() {
    // transformers #27179: gate 255.875 (SiLU ≈ 255.875), up 261.75: 66975 > 65504 → inf.
    Recorder rec = new Recorder();
    Tensor h =
        SwiGlu.forward(
            CTX.withTracer(rec), S.child("act"), PYTORCH, row(FP16, 255.875f), row(FP16, 261.75f));
    assertThat(h.get(0)).isEqualTo(Float.POSITIVE_INFINITY);
    OpRecord r = rec.records.getFirst();
    assertThat(r.site()).isEqualTo(Site.of("layers", 30, "mlp", "act"));
    assertThat(r.phase()).isEqualTo(Phase.FORWARD);
    assertThat(r.unrounded().get(0)).isCloseTo(66975f, org.assertj.core.data.Offset.offset(1f));
    assertThat(r.output()).isSameAs(h);
    // In BF16 the same product is finite.
    Precision bf = PrecisionPolicy.named("pytorch-bf16").of(OpKind.SWIGLU);
    assertThat(
            SwiGlu.forward(
                    CTX, S, bf, row(FloatFormat.BF16, 255.875f), row(FloatFormat.BF16, 261.75f))
                .get(0))
        .isFinite();
  }

  @Test
  void rmsnormUpcastKeepsAMassiveActivationFiniteWhileTheNaiveSquareOverflows() {
    // A massive activation of 2622 (Sun et al. 2024): 2622² = 6.9e6 overflows FP16.
    float[] x = new float[16];
    Arrays.fill(x, 0.5f);
    x[3] = 2622f;
    Tensor w = Tensor.of(FP16, Shape.of(16), ones(16));
    Tensor pytorch = RmsNorm.forward(CTX, S, PYTORCH, row(FP16, x), w, 1e-5).y();
    Tensor naive = RmsNorm.forward(CTX, S, NAIVE, row(FP16, x), w, 1e-5).y();
    // rms ≈ 2622/4 = 655.5 → the spike normalises to ≈ 4, the rest to ≈ 0.00076.
    assertThat(pytorch.get(3)).isCloseTo(4f, org.assertj.core.data.Offset.offset(0.01f));
    assertThat(pytorch.get(0)).isGreaterThan(0f);
    // naive: Σx² = inf → rstd = 1/√inf = 0 → the whole row collapses to 0 (no NaN, silently wrong).
    for (int i = 0; i < 16; i++) {
      assertThat(naive.get(i)).as("naive[%d]", i).isZero();
    }
  }

  private static float[] ones(int n) {
    float[] v = new float[n];
    Arrays.fill(v, 1f);
    return v;
  }

  @Test
  void attentionMaskOfFinfoMinTurnsScoresBelowMinus16IntoMinusInfinity() {
    // One query at position 1 over 2 keys, key 1 padded: its masked score is −65504 + s.
    // q·k = −32 → scaled by 1/√1 = −32 → −65504 + (−32) = −inf in FP16 (docs/reference/numerics.md
    // §3).
    Precision gemm = new Precision(FP16, FP32, FP32);
    Tensor q = row(FP16, 1f).reshape(Shape.of(1, 1));
    Tensor k = Tensor.of(FP16, Shape.of(2, 1), 3f, -32f);
    Tensor v = Tensor.of(FP16, Shape.of(2, 1), 5f, 7f);
    Recorder rec = new Recorder();
    CausalAttention.Forward f =
        CausalAttention.forward(
            CTX.withTracer(rec), S, gemm, gemm, q, k, v, 1, 1, new boolean[] {true, false});
    assertThat(f.probs().toFloatArray()).containsExactly(1f, 0f);
    assertThat(f.out().get(0)).isEqualTo(5f);
    // a fully masked row (every key padded) stays finite: uniform over the min-valued scores.
    CausalAttention.Forward all =
        CausalAttention.forward(
            CTX,
            S,
            gemm,
            gemm,
            q,
            Tensor.of(FP16, Shape.of(2, 1), 3f, 3f),
            v,
            1,
            1,
            new boolean[] {false, false});
    assertThat(all.probs().toFloatArray()).containsExactly(0.5f, 0.5f);
    assertThat(rec.records)
        .extracting(OpRecord::op)
        .containsExactly("attention.softmax", "attention");
  }

  @Test
  void softmaxPropagatesNanAndInfLikePytorch() {
    Precision p = Precision.FP32;
    assertThat(Softmax.forward(CTX, S, p, row(FP32, Float.NaN, 1f)).toFloatArray())
        .containsOnly(Float.NaN);
    assertThat(Softmax.forward(CTX, S, p, row(FP32, Float.POSITIVE_INFINITY, 1f)).toFloatArray())
        .containsOnly(Float.NaN);
    assertThat(
            Softmax.forward(CTX, S, p, row(FP32, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY))
                .toFloatArray())
        .containsOnly(Float.NaN);
    assertThat(Softmax.forward(CTX, S, p, row(FP32, Float.NEGATIVE_INFINITY, 0f)).toFloatArray())
        .containsExactly(0f, 1f);
    assertThat(LogSoftmax.forward(CTX, S, p, row(FP32, Float.NaN, 0f)).toFloatArray())
        .containsOnly(Float.NaN);
  }

  @Test
  void nanAndInfFlowThroughEveryOp() {
    Precision p = new Precision(FP16, FP32, FP32);
    Tensor bad = row(FP16, Float.NaN, Float.POSITIVE_INFINITY, 1f);
    Tensor good = row(FP16, 1f, 2f, 0f);
    assertThat(Add.forward(CTX, S, p, bad, good).toFloatArray())
        .containsExactly(Float.NaN, Float.POSITIVE_INFINITY, 1f);
    // inf · 0 = NaN
    assertThat(Mul.forward(CTX, S, p, bad, good).toFloatArray())
        .containsExactly(Float.NaN, Float.POSITIVE_INFINITY, 0f);
    assertThat(Silu.forward(CTX, S, p, bad).get(0)).isNaN();
    assertThat(Silu.forward(CTX, S, p, bad).get(1)).isEqualTo(Float.POSITIVE_INFINITY);
    // a NaN in one row of x poisons that output row of x·Wᵀ only
    Tensor x = Tensor.of(FP16, Shape.of(2, 3), Float.NaN, 1f, 1f, 1f, 1f, 1f);
    Tensor w = Tensor.of(FP16, Shape.of(1, 3), 1f, 1f, 1f);
    assertThat(MatMul.forward(CTX, S, p, x, w).toFloatArray()).containsExactly(Float.NaN, 3f);
    assertThat(
            RmsNorm.forward(CTX, S, p, bad, Tensor.of(FP16, Shape.of(3), 1f, 1f, 1f), 1e-5)
                .y()
                .toFloatArray())
        .containsOnly(Float.NaN);
    assertThat(Sum.sum(CTX, S, Precision.FP32, bad).get(0)).isNaN();
    assertThat(Norm.forward(CTX, S, Precision.FP32, row(FP32, Float.POSITIVE_INFINITY, 1f)).get(0))
        .isInfinite();
  }

  @Test
  void fp16OutputOverflowAndAccumulatorSaturation() {
    Precision pytorch = new Precision(FP16, FP32, FP32);
    assertThat(Add.forward(CTX, S, pytorch, row(FP16, 65504f), row(FP16, 16f)).get(0))
        .isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(Add.forward(CTX, S, pytorch, row(FP16, 65504f), row(FP16, 15f)).get(0))
        .isEqualTo(65504f);
    // docs/reference/numerics.md §2: ones(10000).sum() is 10000 with an FP32 accumulator, 2048 with
    // an FP16 one,
    // and ones(70000).sum() overflows FP16 only at the final rounding.
    float[] ones = ones(10000);
    assertThat(Sum.sum(CTX, S, pytorch, row(FP16, ones)).get(0)).isEqualTo(10000f);
    assertThat(Sum.sum(CTX, S, Precision.uniform(FP16), row(FP16, ones)).get(0)).isEqualTo(2048f);
    assertThat(Sum.sum(CTX, S, pytorch, row(FP16, ones(70000))).get(0))
        .isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(Sum.mean(CTX, S, pytorch, row(FP16, ones(70000))).get(0)).isEqualTo(1f);
  }

  @Test
  void backwardReportsToTheTracerWithPhaseBackward() {
    Recorder rec = new Recorder();
    OpContext ctx = CTX.withTracer(rec);
    Tape tape = new Tape();
    Precision p = new Precision(FP16, FP32, FP32);
    Var delta = tape.param(row(FP16, 300f, 1f), "delta");
    Var up = tape.constant(row(FP16, 300f, 1f), "up");
    Var h = Mul.apply(tape, ctx, S.child("mul"), p, delta, up); // 90000 → inf
    Var loss = Sum.sum(tape, ctx, Site.of("loss"), Precision.FP32, h);
    assertThat(loss.value().get(0)).isEqualTo(Float.POSITIVE_INFINITY);
    tape.backward(loss);
    assertThat(delta.grad().toFloatArray()).containsExactly(300f, 1f);
    assertThat(rec.records)
        .extracting(OpRecord::phase)
        .containsExactly(Phase.FORWARD, Phase.FORWARD, Phase.BACKWARD, Phase.BACKWARD);
    assertThat(rec.records)
        .extracting(OpRecord::op)
        .containsExactly("mul", "sum", "sum.grad", "mul.grad");
    OpRecord first = rec.records.getFirst();
    assertThat(first.unrounded().get(0)).isEqualTo(90000f);
    assertThat(first.output().get(0)).isEqualTo(Float.POSITIVE_INFINITY);
  }

  @Test
  void outputRoundingSpecSaturatesTruncatesOrRoundsStochastically() {
    Precision ieee = new Precision(FP16, FP32, FP32);
    Precision saturate =
        ieee.withRounding(
            io.nanscope.engine.format.RoundingSpec.NEAREST_EVEN.withOverflow(
                io.nanscope.engine.format.Overflow.SATURATE));
    // the overflowing SwiGLU product clamps to maxFinite instead of inf (what a clamp fix does)
    assertThat(SwiGlu.forward(CTX, S, saturate, row(FP16, 255.875f), row(FP16, 261.75f)).get(0))
        .isEqualTo(65504f);
    // toward zero: 1 + 1.9·2^-10 truncates to 1 + 2^-10 (nearest would give 1 + 2^-9)
    Precision rz =
        ieee.withRounding(
            io.nanscope.engine.format.RoundingSpec.of(
                io.nanscope.engine.format.Rounding.TOWARD_ZERO));
    float v = 1 + 1.9f * Math.scalb(1f, -10);
    assertThat(Add.forward(CTX, S, rz, row(FP32, v), row(FP32, 0f)).get(0))
        .isEqualTo(1 + Math.scalb(1f, -10));
    assertThat(Add.forward(CTX, S, ieee, row(FP32, v), row(FP32, 0f)).get(0))
        .isEqualTo(1 + Math.scalb(1f, -9));
    // stochastic: 1 + 2^-12 lies a quarter of the way from 1 to 1 + 2^-10; over 4096 elements about
    // a quarter round up (binomial sd ≈ 28, so ±6 sd = 170), and the draws repeat for the same
    // seed.
    Precision sr = ieee.withRounding(io.nanscope.engine.format.RoundingSpec.stochastic(42));
    float[] xs = new float[4096];
    Arrays.fill(xs, 1 + Math.scalb(1f, -12));
    Tensor a = Scale.forward(CTX, S, sr, Tensor.of(FP32, Shape.of(4096), xs), 1.0);
    Tensor b = Scale.forward(CTX, S, sr, Tensor.of(FP32, Shape.of(4096), xs), 1.0);
    int up = 0;
    for (int i = 0; i < 4096; i++) {
      assertThat(a.get(i)).isIn(1f, 1 + Math.scalb(1f, -10));
      up += a.get(i) > 1f ? 1 : 0;
      assertThat(b.get(i)).isEqualTo(a.get(i));
    }
    assertThat(up).isBetween(1024 - 170, 1024 + 170);
  }

  @Test
  void policyFilesCanSetTheOutputRounding() {
    PrecisionPolicy p =
        PrecisionPolicy.fromMap(
            java.util.Map.of(
                "base",
                "pytorch-fp16",
                "ops",
                java.util.Map.of(
                    "swiglu",
                    java.util.Map.of(
                        "overflow", "saturate", "rounding", "stochastic", "seed", "7"))));
    Precision sw = p.of(OpKind.SWIGLU);
    assertThat(sw.rounding().overflow()).isEqualTo(io.nanscope.engine.format.Overflow.SATURATE);
    assertThat(sw.rounding().rounding()).isEqualTo(io.nanscope.engine.format.Rounding.STOCHASTIC);
    assertThat(sw.rounding().seed()).isEqualTo(7L);
    assertThat(sw.toString()).contains("saturate");
    assertThat(p.of(OpKind.MATMUL).rounding().isIeeeDefault()).isTrue();
    org.assertj.core.api.Assertions.assertThatThrownBy(() ->
            PrecisionPolicy.fromMap(
                java.util.Map.of("default", java.util.Map.of("overflow", "clamp"))))
        .hasMessageContaining("expected one of [ieee, saturate]");
  }
}
