package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Gradients in 16-bit formats (pytorch-fp16 / pytorch-bf16 precisions: output S, FP32 inside)
 * against the same gradients in FP64 from identical inputs: gradients are stored in the values' own
 * 16-bit format, and differ from FP64 by the roundings the op performs. Budgets per element, with u
 * = 2^-p the format's unit roundoff and n the reduction length:
 *
 * <ul>
 *   <li>matmul dX, dW: one rounding of an FP32 sum: u·|g| + n·2^-24·Σ|terms|;
 *   <li>SwiGLU: silu(g) rounded to S in forward and reused in backward, the product rounded: dU ≤
 *       2u·|dU|; dG ≤ (u + 8·2^-24)·|dG| (silu' in FP32, one final rounding);
 *   <li>softmax: P rounded to S (relative u) enters {@code P·(dY − Σ dY·P)}: |Δg_i| ≤ u·|g_i| +
 *       2u·|P_i|·(|dY_i| + Σ|dY·P|), plus the final rounding.
 * </ul>
 */
class LowPrecisionGradientTest {

  private static final Site S = Site.of("lowp");
  private static final OpContext CTX = OpContext.DEFAULT;

  private interface Build {
    Var apply(Tape tape, Precision p, List<Var> in);
  }

  /**
   * Runs {@code f} in format f with a fixed seed gradient; returns the input gradients as doubles.
   */
  private static List<double[]> grads(
      FloatFormat f, Precision p, List<Tensor> inputs, Tensor seed, Build b) {
    Tape tape = new Tape();
    List<Var> vars = inputs.stream().map(t -> tape.param(t.to(f), "in")).toList();
    Var y = b.apply(tape, p, vars);
    tape.backward(y, seed.to(f));
    for (Var v : vars) {
      assertThat(v.grad().format()).as("gradient stored in the value's format").isEqualTo(f);
    }
    return vars.stream().map(v -> v.grad().toDoubleArray()).toList();
  }

  private static List<Tensor> inputs16(SplittableRandom r, FloatFormat f, long[]... shapes) {
    // generated in the 16-bit format so the FP64 run sees exactly the same values
    return java.util.Arrays.stream(shapes)
        .map(s -> GradCheck.random(r, f, 2, s).to(FloatFormat.FP64))
        .toList();
  }

  @Test
  void matmulSwigluAndSoftmaxGradientsIn16Bit() {
    for (FloatFormat f : List.of(FloatFormat.FP16, FloatFormat.BF16)) {
      double u = Math.scalb(1.0, -f.info().precisionBits());
      double u32 = Math.scalb(1.0, -24);
      Precision p = new Precision(f, FloatFormat.FP32, FloatFormat.FP32);
      SplittableRandom r = new SplittableRandom(5);
      int t = 7, c = 33, n = 31;

      // matmul
      List<Tensor> mm = inputs16(r, f, new long[] {t, c}, new long[] {n, c});
      Tensor seed = GradCheck.random(r, f, 1, t, n).to(FloatFormat.FP64);
      Build mmB = (tape, pr, v) -> MatMul.apply(tape, CTX, S, pr, v.get(0), v.get(1));
      List<double[]> g16 = grads(f, p, mm, seed, mmB),
          g64 = grads(FloatFormat.FP64, Precision.FP64, mm, seed, mmB);
      // Σ|terms| ≤ (reduction length)·max|dY|·max|W or X| = n·1·2 for dX, t·1·2 for dW
      check(f + " matmul dX", g16.get(0), g64.get(0), u, n * u32 * n * 2.0);
      check(f + " matmul dW", g16.get(1), g64.get(1), u, t * u32 * t * 2.0);

      // swiglu
      List<Tensor> sw = inputs16(r, f, new long[] {t, c}, new long[] {t, c});
      Tensor seed2 = GradCheck.random(r, f, 1, t, c).to(FloatFormat.FP64);
      Build swB = (tape, pr, v) -> SwiGlu.apply(tape, CTX, S, pr, v.get(0), v.get(1));
      g16 = grads(f, p, sw, seed2, swB);
      g64 = grads(FloatFormat.FP64, Precision.FP64, sw, seed2, swB);
      check(f + " swiglu dGate", g16.get(0), g64.get(0), u + 8 * u32, 0);
      check(f + " swiglu dUp", g16.get(1), g64.get(1), 2 * u, 0);

      // softmax
      List<Tensor> sm = inputs16(r, f, new long[] {t, c});
      Tensor seed3 = GradCheck.random(r, f, 1, t, c).to(FloatFormat.FP64);
      Build smB = (tape, pr, v) -> Softmax.apply(tape, CTX, S, pr, v.get(0));
      g16 = grads(f, p, sm, seed3, smB);
      g64 = grads(FloatFormat.FP64, Precision.FP64, sm, seed3, smB);
      double[] pv = Softmax.forward(CTX, S, Precision.FP64, sm.get(0)).toDoubleArray();
      double[] dy = seed3.toDoubleArray();
      for (int row = 0; row < t; row++) {
        double dot = 0;
        for (int j = 0; j < c; j++) {
          dot += Math.abs(dy[row * c + j] * pv[row * c + j]);
        }
        for (int j = 0; j < c; j++) {
          int i = row * c + j;
          // dY is generated in S, so both runs see the same dY; P_i and Σ dY·P carry the P rounding
          double budget =
              u * Math.abs(g64.get(0)[i]) * 1.001
                  + 2 * u * pv[i] * (Math.abs(dy[i]) + dot)
                  + (c + 4) * u32 * pv[i] * (Math.abs(dy[i]) + dot)
                  + Math.scalb(1.0, -24);
          assertThat(Math.abs(g16.get(0)[i] - g64.get(0)[i]))
              .as("%s softmax dX[%d]", f, i)
              .isLessThanOrEqualTo(budget);
        }
      }
    }
  }

  private static void check(String what, double[] got, double[] ref, double rel, double abs) {
    for (int i = 0; i < ref.length; i++) {
      double budget = rel * Math.abs(ref[i]) * 1.001 + abs * 1.001 + Math.scalb(1.0, -24);
      assertThat(Math.abs(got[i] - ref[i]))
          .as("%s [%d]: %s vs FP64 %s", what, i, got[i], ref[i])
          .isLessThanOrEqualTo(budget);
    }
  }
}
