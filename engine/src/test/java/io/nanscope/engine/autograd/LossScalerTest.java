package io.nanscope.engine.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.MatMul;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.engine.trace.Tracer;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class LossScalerTest {

  /** Counts its steps and moves nothing. */
  static final class CountingOptimizer implements Optimizer {
    int steps;

    @Override
    public void step(List<ParamGrad> params, Tracer tracer) {
      steps++;
    }

    @Override
    public FloatFormat stateFormat() {
      return FloatFormat.FP32;
    }
  }

  static List<ParamGrad> grads(FloatFormat f, float... g) {
    return List.of(
        new ParamGrad(
            "w",
            Tensor.zeros(FloatFormat.FP32, Shape.of(g.length)),
            Tensor.of(f, Shape.of(g.length), g)));
  }

  @Test
  void defaultsAreGradScalers() {
    LossScaler s = new LossScaler();
    assertThat(s.scale()).isEqualTo(65536f);
    assertThat(s.scaleLoss(2.5f)).isEqualTo(163840f);
    assertThat(s.inverseScale()).isEqualTo(0x1p-16f);
  }

  @Test
  void growsAfter2000FiniteStepsAndNotBefore() {
    LossScaler s = new LossScaler();
    CountingOptimizer opt = new CountingOptimizer();
    for (int i = 0; i < 1999; i++) {
      assertThat(s.step(opt, grads(FloatFormat.FP32, 1f), Tracer.NONE)).isTrue();
      s.update();
    }
    assertThat(s.scale()).isEqualTo(65536f);
    assertThat(s.growthTracker()).isEqualTo(1999);
    s.step(opt, grads(FloatFormat.FP32, 1f), Tracer.NONE);
    s.update();
    assertThat(s.scale()).isEqualTo(131072f);
    assertThat(s.growthTracker()).isZero();
    assertThat(opt.steps).isEqualTo(2000);
  }

  @Test
  void infOrNanSkipsTheStepAndBacksOff() {
    LossScaler s = new LossScaler(65536f, 2.0, 0.5, 3, false);
    CountingOptimizer opt = new CountingOptimizer();
    // finite, finite, inf, finite x3, NaN
    float[][] seq = {{1f}, {2f}, {Float.POSITIVE_INFINITY}, {1f}, {1f}, {1f}, {Float.NaN}};
    float[] expectScale = {65536f, 65536f, 32768f, 32768f, 32768f, 65536f, 32768f};
    int[] expectTracker = {1, 2, 0, 1, 2, 0, 0};
    boolean[] expectStep = {true, true, false, true, true, true, false};
    for (int i = 0; i < seq.length; i++) {
      List<ParamGrad> g = grads(FloatFormat.FP32, seq[i]);
      assertThat(s.step(opt, g, Tracer.NONE)).as("step %d", i).isEqualTo(expectStep[i]);
      assertThat(s.foundInf()).isEqualTo(!expectStep[i]);
      s.update();
      assertThat(s.scale()).as("scale after %d", i).isEqualTo(expectScale[i]);
      assertThat(s.growthTracker()).as("tracker after %d", i).isEqualTo(expectTracker[i]);
    }
    assertThat(opt.steps).isEqualTo(5);
    assertThat(s.skippedSteps()).isEqualTo(2);
  }

  @Test
  void unscaleMultipliesByTheDoubleReciprocalRoundedToFloat() {
    LossScaler s = new LossScaler(3f, 2.0, 0.5, 2000, false);
    // Independent: 1/3 to 60 digits, rounded to float by BigDecimal.
    float inv = BigDecimal.ONE.divide(new BigDecimal(3), new MathContext(60)).floatValue();
    assertThat(s.inverseScale()).isEqualTo(inv);
    List<ParamGrad> g = grads(FloatFormat.FP32, 3f, -6f, 1e-45f);
    assertThat(s.unscale(g)).isFalse();
    Tensor t = g.getFirst().grad();
    assertThat(t.get(0)).isEqualTo(3f * inv);
    assertThat(t.get(1)).isEqualTo(-6f * inv);
    assertThat(t.get(2)).isZero(); // the smallest subnormal / 3 underflows in FP32
    assertThatThrownBy(() -> s.unscale(g))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("once");
    // step() after an explicit unscale does not unscale again.
    CountingOptimizer opt = new CountingOptimizer();
    assertThat(s.step(opt, g, Tracer.NONE)).isTrue();
    assertThat(t.get(0)).isEqualTo(3f * inv);
  }

  @Test
  void growthThatWouldOverflowFp32KeepsTheScale() {
    LossScaler s = new LossScaler(0x1p127f, 2.0, 0.5, 1, false);
    s.step(new CountingOptimizer(), grads(FloatFormat.FP32, 1f), Tracer.NONE);
    s.update();
    assertThat(s.scale()).isEqualTo(0x1p127f);
    assertThat(s.growthTracker()).isZero();
  }

  @Test
  void fp16GradientsAreRefusedLikePyTorchUnlessAllowed() {
    assertThatThrownBy(() -> new LossScaler().unscale(grads(FloatFormat.FP16, 1f)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Attempting to unscale FP16 gradients");
    LossScaler allowed = new LossScaler(65536f, 2.0, 0.5, 2000, true);
    // A scaled FP16 gradient of 3·2^-24·65536 unscales to 3·2^-24, an FP16 subnormal: kept exactly.
    List<ParamGrad> g = grads(FloatFormat.FP16, 3 * 0x1p-24f * 65536f);
    allowed.unscale(g);
    assertThat(g.getFirst().grad().get(0)).isEqualTo(3 * 0x1p-24f);
  }

  /**
   * Why loss scaling exists: an FP16 activation gradient of 1e-8 (below half of FP16's smallest
   * subnormal, 2^-25 ≈ 2.98e-8) flushes to 0 in backward; scaled by 2^16 it is 6.55e-4 and
   * survives, and unscaling into the FP32 master gradient gives 1e-8 back. Real ops and Tape.
   */
  @Test
  void scalingRescuesAnFp16GradientThatUnderflows() {
    Precision p = PrecisionPolicy.named("pytorch-fp16").of(OpKind.MATMUL);
    float[] dxUnscaled = new float[2];
    long[] underflows = new long[2];
    for (int scaled = 0; scaled < 2; scaled++) {
      LossScaler scaler = new LossScaler();
      StatsTracer stats = new StatsTracer(new TraceContext());
      OpContext ctx = OpContext.DEFAULT.withTracer(stats);
      Tape tape = new Tape();
      // FP16 weights with FP32 master gradients, as GradScaler requires.
      Var x = tape.param(Tensor.of(FloatFormat.FP16, Shape.of(1, 1), 1f), "x", FloatFormat.FP32);
      Var w1 = tape.constant(Tensor.of(FloatFormat.FP16, Shape.of(1, 1), 1f), "w1");
      Var w2 = tape.constant(Tensor.of(FloatFormat.FP16, Shape.of(1, 1), 1e-4f), "w2");
      Site s = Site.of("layers", 0);
      Var h = MatMul.apply(tape, ctx, s.child("a"), p, x, w1);
      Var y = MatMul.apply(tape, ctx, s.child("b"), p, h, w2);
      // dLoss/dy = 1e-4 (FP16: 1.0002e-4), times the scale when scaling.
      float seed = scaled == 1 ? scaler.scaleLoss(1e-4f) : 1e-4f;
      tape.backward(y, Tensor.of(FloatFormat.FP16, Shape.of(1, 1), seed));
      List<ParamGrad> params = List.of(new ParamGrad("x", x.value(), x.grad()));
      if (scaled == 1) {
        assertThat(scaler.unscale(params)).isFalse();
      }
      dxUnscaled[scaled] = x.grad().get(0);
      underflows[scaled] =
          stats.rows().stream()
              .filter(
                  r -> r.at().op().equals("matmul.dx") && r.at().site().name().equals("layers.0.b"))
              .mapToLong(r -> r.output().underflow())
              .sum();
    }
    assertThat(dxUnscaled[0]).as("unscaled: dh = 1e-8 flushed to 0 in FP16").isZero();
    assertThat(underflows[0]).isEqualTo(1);
    assertThat(dxUnscaled[1])
        .as("scaled by 2^16 then unscaled")
        .isCloseTo(1e-8f, Offset.offset(1e-10f));
    assertThat(underflows[1]).isZero();
  }

  @Test
  void updateWithoutAnInfCheckIsAnError() {
    assertThatThrownBy(() -> new LossScaler().update())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("No inf checks");
    assertThatThrownBy(() -> new LossScaler(0f, 2.0, 0.5, 2000, false))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
