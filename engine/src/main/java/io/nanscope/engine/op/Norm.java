package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * The L2 norm of all elements, {@code n = √(Σ_i x_i²)} (PyTorch {@code torch.norm(x)}; ROME's
 * {@code delta.norm()} and weight decay {@code ‖δ‖ / ‖v₀‖²}).
 *
 * <p>Shapes: x: any; n: ().
 *
 * <p>Precision: squares and the root in {@code compute}, the sum in {@code accumulate}.
 *
 * <p>Backward: {@code ∂n/∂x_i = x_i / n}, so {@code dX = dN·x/n}; 0 when n = 0 (PyTorch's choice of
 * subgradient).
 */
public final class Norm {

  private Norm() {}

  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor x) {
    if (p.compute() == FloatFormat.FP32
        && p.accumulate() == FloatFormat.FP32
        && x.format() != FloatFormat.FP64) {
      float s = 0f;
      for (float v : x.toFloatArray()) {
        s += v * v; // FP32 square, sequential FP32 sum: the double path's roundings and order
      }
      double n = (float) Math.sqrt(s);
      return Emit.output(ctx, site, "norm", Phase.FORWARD, p, Shape.of(), new double[] {n}, x);
    }
    return forwardDoubles(ctx, site, p, x);
  }

  /** The double path of {@link #forward} (any precision; the float path's oracle in the tests). */
  static Tensor forwardDoubles(OpContext ctx, Site site, Precision p, Tensor x) {
    double[] v = x.toDoubleArray();
    for (int i = 0; i < v.length; i++) {
      v[i] = p.roundCompute(v[i] * v[i]);
    }
    double n = p.roundCompute(Math.sqrt(Reduce.sum(p.accumulate(), v, 0, 1, v.length)));
    return Emit.output(ctx, site, "norm", Phase.FORWARD, p, Shape.of(), new double[] {n}, x);
  }

  /** dX = dN·x/n (n the forward's output), rounded to {@code format}. */
  public static Tensor backward(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dNorm,
      Tensor x,
      Tensor norm,
      FloatFormat format) {
    double n = norm.getDouble(0);
    double g = n == 0 ? 0 : p.roundCompute(dNorm.getDouble(0) / n);
    if (Emit.floatPath(p, format, x) && (float) g == g) { // g is a float under FP32 compute
      float[] v = x.toFloatArray();
      float gf = (float) g;
      for (int i = 0; i < v.length; i++) {
        v[i] = v[i] * gf;
      }
      return Emit.output(ctx, site, "norm.grad", Phase.BACKWARD, format, x.shape(), v, dNorm, x);
    }
    return backwardDoubles(ctx, site, p, dNorm, x, norm, format);
  }

  /** The double path (any precision; the float path's oracle in the tests). */
  static Tensor backwardDoubles(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dNorm,
      Tensor x,
      Tensor norm,
      FloatFormat format) {
    double n = norm.getDouble(0);
    double g = n == 0 ? 0 : p.roundCompute(dNorm.getDouble(0) / n);
    double[] v = x.toDoubleArray();
    for (int i = 0; i < v.length; i++) {
      v[i] = p.roundCompute(v[i] * g);
    }
    return Emit.output(ctx, site, "norm.grad", Phase.BACKWARD, format, x.shape(), v, dNorm, x);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var x) {
    Tensor n = forward(ctx, site, p, x.value());
    return tape.record(
        "norm@" + site,
        n,
        (dn, needs) -> new Tensor[] {backward(ctx, site, p, dn, x.value(), n, x.gradFormat())},
        x);
  }
}
