package io.nanscope.engine.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TraceContext;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SgdTest {

  /**
   * FP64 reference from the heavy-ball / Nesterov equations (Sutskever et al. 2013, PyTorch's
   * form): v = μ·v + (1−τ)·g (v = g at the first step), d = g + μ·v (nesterov) or v, p −= lr·d.
   */
  static double[] reference(
      double[] p0,
      double[][] grads,
      double lr,
      double mu,
      double tau,
      double wd,
      boolean nesterov) {
    double[] p = p0.clone();
    double[] v = new double[p.length];
    for (int t = 0; t < grads.length; t++) {
      for (int i = 0; i < p.length; i++) {
        double g = grads[t][i] + wd * p[i];
        double d = g;
        if (mu != 0) {
          v[i] = t == 0 ? g : mu * v[i] + (1 - tau) * g;
          d = nesterov ? g + mu * v[i] : v[i];
        }
        p[i] = p[i] - lr * d;
      }
    }
    return p;
  }

  /**
   * Budget: ≤ 4 FP32 roundings per element per step on values ≤ ~|p| + 20·lr·|g|, 10 steps: 10 ulp
   * of the largest |p| plus 10·lr·(1 + 10)·|g|max·2^−22 for the buffer's relative error.
   */
  @ParameterizedTest
  @CsvSource({
    "0.1, 0.0, 0.0, 0.0, false",
    "0.1, 0.9, 0.0, 0.0, false",
    "0.05, 0.9, 0.1, 0.01, false",
    "0.05, 0.9, 0.0, 0.01, true"
  })
  void tenFp32StepsMatchTheFp64Reference(
      double lr, double mu, double tau, double wd, boolean nesterov) {
    SplittableRandom rnd = new SplittableRandom(7);
    int n = 33;
    float[] p0f = new float[n];
    double[] p0 = new double[n];
    for (int i = 0; i < n; i++) {
      p0f[i] = (float) rnd.nextDouble(-2, 2);
      p0[i] = p0f[i];
    }
    double[][] grads = new double[10][n];
    Tensor param = Tensor.of(FloatFormat.FP32, Shape.of(n), p0f);
    Sgd sgd = new Sgd(lr, mu, tau, wd, nesterov, FloatFormat.FP32);
    for (int t = 0; t < 10; t++) {
      float[] g = new float[n];
      for (int i = 0; i < n; i++) {
        g[i] = (float) rnd.nextGaussian();
        grads[t][i] = g[i];
      }
      sgd.step(List.of(new ParamGrad("w", param, Tensor.of(FloatFormat.FP32, Shape.of(n), g))));
    }
    double[] ref = reference(p0, grads, lr, mu, tau, wd, nesterov);
    double maxAbsP = 0;
    for (double r : ref) {
      maxAbsP = Math.max(maxAbsP, Math.abs(r));
    }
    double budget = 10 * Math.ulp((float) maxAbsP) + 10 * lr * 11 * 5 * 0x1p-22;
    for (int i = 0; i < n; i++) {
      assertThat((double) param.get(i))
          .as("element %d", i)
          .isCloseTo(ref[i], org.assertj.core.data.Offset.offset(budget));
    }
    assertThat(Math.abs(param.get(0) - p0[0])).isGreaterThan(lr * 0.01);
  }

  @Test
  void momentumBufferLivesInTheStateFormatAndIsTraced() {
    Tensor p = Tensor.of(FloatFormat.FP32, Shape.of(2), 1f, 1f);
    Sgd sgd = new Sgd(0.1, 0.9, 0, 0, false, FloatFormat.BF16);
    StatsTracer stats = new StatsTracer(new TraceContext());
    // 1/3 is not a BF16 value: the buffer holds bf16(1/3) = 0.333984375.
    sgd.step(
        List.of(new ParamGrad("w", p, Tensor.of(FloatFormat.FP32, Shape.of(2), 1f / 3, 0f))),
        stats);
    assertThat(sgd.momentumBuffer("w").format()).isEqualTo(FloatFormat.BF16);
    assertThat(sgd.momentumBuffer("w").get(0)).isEqualTo(0.333984375f);
    assertThat(p.get(0)).isEqualTo(1f - 0.1f * 0.333984375f);
    assertThat(stats.rows())
        .extracting(r -> r.at().site().name())
        .containsExactly("sgd.w.momentum_buffer", "sgd.w");
    assertThat(stats.rows().get(0).output().hasUnrounded()).isTrue();
    assertThat(new Sgd(0.1).momentumBuffer("w")).isNull();
  }

  @Test
  void rejectsNesterovWithoutMomentum() {
    assertThatThrownBy(() -> new Sgd(0.1, 0, 0, 0, true, FloatFormat.FP32))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Nesterov");
    assertThatThrownBy(() -> new Sgd(-0.1)).hasMessageStartingWith("Invalid learning rate");
  }
}
