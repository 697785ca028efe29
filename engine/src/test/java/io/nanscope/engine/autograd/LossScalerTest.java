package io.nanscope.engine.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Tracer;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
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
        new ParamGrad("w", Tensor.zeros(FloatFormat.FP32, Shape.of(g.length)), Tensor.of(f, Shape.of(g.length), g)));
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

  @Test
  void updateWithoutAnInfCheckIsAnError() {
    assertThatThrownBy(() -> new LossScaler().update())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("No inf checks");
    assertThatThrownBy(() -> new LossScaler(0f, 2.0, 0.5, 2000, false))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
