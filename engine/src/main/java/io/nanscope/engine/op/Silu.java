package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * SiLU (swish) {@code y = x·σ(x) = x / (1 + e^{−x})} (Elfwing et al. 2018; Llama's MLP activation).
 *
 * <p>Shapes: x, y: any shape, e.g. (T, F).
 *
 * <p>Backward: {@code σ' = σ(1−σ)}, so {@code dy/dx = σ + x·σ(1−σ) = σ·(1 + x·(1−σ))} and
 * {@code dX = dY ⊙ σ(x)·(1 + x·(1−σ(x)))}.
 *
 * <p>Precision: e^{−x}, 1 + e^{−x} and the quotient are each rounded to {@code compute} (PyTorch
 * CUDA computes {@code x / (1 + exp(-x))} in FP32 for 16-bit tensors); output rounded once.
 */
public final class Silu {

  private Silu() {}

  /** σ(x) with each step rounded to {@code compute}. */
  static double sigmoid(Precision p, double x) {
    return p.roundCompute(1.0 / p.roundCompute(1.0 + p.roundCompute(Math.exp(-x))));
  }

  /** x·σ(x) = x / (1 + e^{−x}) with each step rounded to {@code compute}. */
  static double silu(Precision p, double x) {
    return p.roundCompute(x / p.roundCompute(1.0 + p.roundCompute(Math.exp(-x))));
  }

  /** d silu / dx = σ·(1 + x·(1−σ)), in {@code compute}. */
  static double siluDerivative(Precision p, double x) {
    double s = sigmoid(p, x);
    return p.roundCompute(s * p.roundCompute(1.0 + p.roundCompute(x * p.roundCompute(1.0 - s))));
  }

  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor x) {
    double[] v = x.toDoubleArray();
    for (int i = 0; i < v.length; i++) {
      v[i] = silu(p, v[i]);
    }
    return Emit.output(ctx, site, "silu", Phase.FORWARD, p, x.shape(), v, x);
  }

  public static Tensor backward(OpContext ctx, Site site, Precision p, Tensor dy, Tensor x, FloatFormat format) {
    double[] g = dy.toDoubleArray(), v = x.toDoubleArray();
    for (int i = 0; i < g.length; i++) {
      g[i] = p.roundCompute(g[i] * siluDerivative(p, v[i]));
    }
    return Emit.output(ctx, site, "silu.grad", Phase.BACKWARD, format, x.shape(), g, dy, x);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var x) {
    Tensor y = forward(ctx, site, p, x.value());
    return tape.record(
        "silu@" + site, y, (dy, needs) -> new Tensor[] {backward(ctx, site, p, dy, x.value(), x.gradFormat())}, x);
  }
}
