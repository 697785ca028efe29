package io.nanscope.engine.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.AnomalyTracer;
import io.nanscope.engine.trace.CompositeTracer;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.NonFiniteException;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TraceContext;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AdamTest {

  /**
   * FP64 reference written from the paper's form (Kingma &amp; Ba, Algorithm 1, with PyTorch's
   * weight decay added to the gradient): m̂ = m/(1−β1^t), v̂ = v/(1−β2^t), p −= lr·m̂/(√v̂ + ε).
   * Shares no code with Adam.
   */
  static double[] reference(
      double[] p0, double[][] grads, double lr, double b1, double b2, double eps, double wd) {
    double[] p = p0.clone();
    double[] m = new double[p.length];
    double[] v = new double[p.length];
    for (int t = 1; t <= grads.length; t++) {
      for (int i = 0; i < p.length; i++) {
        double g = grads[t - 1][i] + wd * p[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        double mHat = m[i] / (1 - Math.pow(b1, t));
        double vHat = v[i] / (1 - Math.pow(b2, t));
        p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
      }
    }
    return p;
  }

  /**
   * Ten FP32 steps against the FP64 reference. Gradient classes: O(1), O(1e3), O(1e-7) (where eps =
   * 1e-8 is 10% of √v̂, so a wrong eps placement shows), sign-alternating.
   *
   * <p>Error budget per element: the FP64 reference keeps p exactly, FP32 rounds it each step (≤ ½
   * ulp(p) per step, so 10 steps ≤ 5 ulp(|p|max)); each step's update is computed in FP32 with ~8
   * roundings of relative size 2^−24 on top of m, v carrying ≤ 3t·2^−24 each: ≤ 10·lr·40·2^−24 for
   * |update| ≤ 3·lr. Budget: 10 ulp(|p|max) + 10·lr·1e−5 — a missing bias correction or a wrong
   * beta moves p by O(lr) and fails it by orders of magnitude.
   */
  @ParameterizedTest
  @CsvSource({"1e-3, 0.0", "1e-2, 0.0", "1e-2, 0.01", "0.5, 1e-3"})
  void tenFp32StepsMatchTheFp64Reference(double lr, double wd) {
    SplittableRandom rnd = new SplittableRandom(42);
    int n = 64;
    double[] p0 = new double[n];
    float[] p0f = new float[n];
    for (int i = 0; i < n; i++) {
      p0f[i] = (float) rnd.nextDouble(-1, 1);
      p0[i] = p0f[i];
    }
    int steps = 10;
    double[][] grads = new double[steps][n];
    Tensor param = Tensor.of(FloatFormat.FP32, Shape.of(8, 8), p0f);
    Adam adam = new Adam(lr, 0.9, 0.999, 1e-8, wd, FloatFormat.FP32);
    for (int t = 0; t < steps; t++) {
      float[] g = new float[n];
      for (int i = 0; i < n; i++) {
        double scale =
            switch (i % 4) {
              case 0 -> 1;
              case 1 -> 1e3;
              case 2 -> 1e-7;
              default -> (t % 2 == 0 ? 1 : -1);
            };
        g[i] = (float) (scale * rnd.nextGaussian());
        grads[t][i] = g[i];
      }
      adam.step(List.of(new ParamGrad("w", param, Tensor.of(FloatFormat.FP32, Shape.of(8, 8), g))));
    }
    double[] ref = reference(p0, grads, lr, 0.9, 0.999, 1e-8, wd);
    double budget = 10 * Math.ulp(1f) + 10 * lr * 1e-5;
    double maxErr = 0;
    int worst = -1;
    for (int i = 0; i < n; i++) {
      double err = Math.abs(param.get(i) - ref[i]);
      if (err > maxErr) {
        maxErr = err;
        worst = i;
      }
    }
    assertThat(maxErr)
        .as(
            "max |fp32 - fp64| = %s at %d (got %s, reference %s), budget %s",
            maxErr, worst, worst < 0 ? 0 : param.get(worst), worst < 0 ? 0 : ref[worst], budget)
        .isLessThanOrEqualTo(budget);
    // The parameters did move by O(lr) (up to 10·lr): the comparison is not vacuous.
    double moved = 0;
    for (int i = 0; i < n; i++) {
      moved = Math.max(moved, Math.abs(param.get(i) - p0[i]));
    }
    assertThat(moved).isGreaterThan(3 * lr);
    assertThat(adam.state("w").step()).isEqualTo(steps);
  }

  @Test
  void epsilonUnderflowsInFp16StateAndTheUpdateBecomesInfAndNan() {
    // Independent facts: FP16's smallest subnormal is 2^-24 ≈ 5.96e-8, so 1e-8 rounds to 0.
    assertThat(Float.floatToFloat16(1e-8f)).isZero();
    assertThat(Float.float16ToFloat((short) 1)).isEqualTo(0x1p-24f);
    // And v = 0.001·(1e-4)² = 1e-11 underflows too.
    assertThat(Float.floatToFloat16(0.001f * 1e-4f * 1e-4f)).isZero();

    float[] p0 = {0.5f, 0.5f, 0.5f};
    float[] g = {1e-4f, 0f, 1f};
    Tensor p32 = Tensor.of(FloatFormat.FP32, Shape.of(3), p0);
    new Adam(FloatFormat.FP32)
        .step(List.of(new ParamGrad("w", p32, Tensor.of(FloatFormat.FP32, Shape.of(3), g))));
    // FP32 state: the first Adam step is -lr·g/(|g| + eps·…) ≈ -lr·sign(g), and 0 for g = 0.
    assertThat(p32.get(0)).isCloseTo(0.499f, org.assertj.core.data.Offset.offset(1e-6f));
    assertThat(p32.get(1)).isEqualTo(0.5f);
    assertThat(p32.get(2)).isCloseTo(0.499f, org.assertj.core.data.Offset.offset(1e-6f));

    TraceContext ctx = new TraceContext().setRecord(0);
    StatsTracer stats = new StatsTracer(ctx);
    AnomalyTracer anomaly = AnomalyTracer.stopping(ctx);
    Tensor p16state = Tensor.of(FloatFormat.FP32, Shape.of(3), p0);
    Adam adam16 = new Adam(FloatFormat.FP16);
    NonFiniteException e =
        catchThrowableOfType(
            NonFiniteException.class,
            () ->
                adam16.step(
                    List.of(
                        new ParamGrad(
                            "delta", p16state, Tensor.of(FloatFormat.FP32, Shape.of(3), g))),
                    CompositeTracer.of(stats, anomaly)));
    // v underflowed to 0 -> denom = fp16(0 + 1e-8) = 0 -> m/0 = -inf (after the minus), 0/0 = NaN.
    assertThat(p16state.get(0)).isEqualTo(Float.NEGATIVE_INFINITY);
    assertThat(p16state.get(1)).isNaN();
    assertThat(p16state.get(2)).isCloseTo(0.499f, org.assertj.core.data.Offset.offset(1e-3f));

    FirstNonFinite ev = e.event().orElseThrow();
    assertThat(ev.at().phase()).isEqualTo(Phase.OPTIMIZER);
    assertThat(ev.at().site().name()).isEqualTo("adam.delta");
    assertThat(ev.at().op()).isEqualTo("addcdiv");
    assertThat(ev.at().step()).isEqualTo(1);
    assertThat(ev.newInf()).isTrue();
    assertThat(ev.newNan()).isTrue();
    assertThat(ev.inputsFinite()).isTrue();
    assertThat(ev.inputs().get(2).zero()).as("denom zeros").isEqualTo(2);
    assertThat(ev.offending()).hasSize(2);

    List<SiteStats> rows = stats.rows();
    assertThat(rows)
        .extracting(r -> r.at().site().name())
        .containsExactly(
            "adam.delta.exp_avg", "adam.delta.exp_avg_sq", "adam.delta.denom", "adam.delta");
    assertThat(rows.get(1).output().underflow()).as("v: 1e-11 -> 0").isEqualTo(1);
    assertThat(rows.get(2).output().underflow()).as("denom: 1e-8 -> 0").isEqualTo(2);
    assertThat(rows.get(0).output().subnormal()).as("m = 1e-5 is subnormal in fp16").isEqualTo(1);
  }

  @Test
  void fp16ParametersAreRoundedToFp16AfterEachUpdate() {
    // lr 1e-4 on p = 1: the FP32 result 0.9999 is closer to 1 than to FP16's next value below,
    // 1 - 2^-11: the update is lost entirely (smaller than half an ulp), a classic FP16 stall.
    Tensor p = Tensor.of(FloatFormat.FP16, Shape.of(1), 1f);
    new Adam(1e-4, FloatFormat.FP32)
        .step(List.of(new ParamGrad("w", p, Tensor.of(FloatFormat.FP16, Shape.of(1), 1f))));
    float exact = 1f - 1e-4f;
    assertThat(p.get(0)).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(exact))).isEqualTo(1f);
    // With lr 1e-3 it moves by one FP16 step pattern: 0.999 -> 0.99902344 (= 1 - 2^-10).
    new Adam(1e-3, FloatFormat.FP32)
        .step(List.of(new ParamGrad("w", p, Tensor.of(FloatFormat.FP16, Shape.of(1), 1f))));
    assertThat(p.get(0)).isEqualTo(1f - 0x1p-10f);
  }

  @Test
  void fp8StateHoldsOnlyFp8ValuesAndTheStepStillMoves() {
    // FP8 E4M3 state (as in 8-bit optimisers, minus their block scaling): m and v are FP8 values.
    Tensor p = Tensor.of(FloatFormat.FP32, Shape.of(2), 1f, -1f);
    Adam adam = new Adam(1e-2, FloatFormat.FP8_E4M3);
    adam.step(List.of(new ParamGrad("w", p, Tensor.of(FloatFormat.FP32, Shape.of(2), 0.5f, -2f))));
    Adam.State s = adam.state("w");
    assertThat(s.expAvg().format()).isEqualTo(FloatFormat.FP8_E4M3);
    // m = 0.1·g rounded to E4M3 (3 mantissa bits): 0.05 -> 0.05078125, -0.2 -> -0.203125.
    assertThat(s.expAvg().get(0)).isEqualTo(0.05078125f);
    assertThat(s.expAvg().get(1)).isEqualTo(-0.203125f);
    assertThat(p.get(0)).isLessThan(1f);
    assertThat(p.get(1)).isGreaterThan(-1f);
  }

  @Test
  void rejectsBadHyperparametersAndFormatsWithTorchMessages() {
    assertThatThrownBy(() -> new Adam(-1, FloatFormat.FP32))
        .hasMessageStartingWith("Invalid learning rate: -1.0");
    assertThatThrownBy(() -> new Adam(1e-3, 1.0, 0.999, 1e-8, 0, FloatFormat.FP32))
        .hasMessageStartingWith("Invalid beta parameter at index 0");
    assertThatThrownBy(() -> new Adam(FloatFormat.FP64)).hasMessageContaining("fp64");
    Adam adam = new Adam(FloatFormat.FP32);
    Tensor p = Tensor.zeros(FloatFormat.FP32, Shape.of(2));
    adam.step(List.of(new ParamGrad("w", p, Tensor.zeros(FloatFormat.FP32, Shape.of(2)))));
    Tensor p3 = Tensor.zeros(FloatFormat.FP32, Shape.of(3));
    assertThatThrownBy(() ->
            adam.step(List.of(new ParamGrad("w", p3, Tensor.zeros(FloatFormat.FP32, Shape.of(3))))))
        .hasMessageContaining("stable name");
    assertThatThrownBy(() -> new ParamGrad("w", p, p3)).hasMessageContaining("(3,)");
  }
}
