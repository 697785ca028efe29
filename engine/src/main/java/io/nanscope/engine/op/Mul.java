package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.ElementwiseKernels;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Element-wise product {@code y = a ⊙ b}.
 *
 * <p>Shapes: a, b, y: any equal shapes, e.g. (T, F).
 *
 * <p>Backward: {@code ∂y_i/∂a_i = b_i}, {@code ∂y_i/∂b_i = a_i}, so {@code dA = dY ⊙ b} and {@code
 * dB = dY ⊙ a}, each product in {@code compute}.
 */
public final class Mul {

  private Mul() {}

  /** y = a ⊙ b, computed in {@code compute}, rounded to {@code output}. */
  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor a, Tensor b) {
    Emit.sameShape("mul at " + site, "a", a, "b", b);
    if (Emit.floatPath(p, a, b)) {
      float[] x = a.toFloatArray();
      ElementwiseKernels.mul(x, 0, b.toFloatArray(), 0, x, 0, x.length);
      return Emit.output(ctx, site, "mul", Phase.FORWARD, p, a.shape(), x, a, b);
    }
    return forwardDoubles(ctx, site, p, a, b);
  }

  /** The double path of {@link #forward} (any precision; the float path's oracle in the tests). */
  static Tensor forwardDoubles(OpContext ctx, Site site, Precision p, Tensor a, Tensor b) {
    double[] x = a.toDoubleArray(), y = b.toDoubleArray();
    for (int i = 0; i < x.length; i++) {
      x[i] = p.roundCompute(x[i] * y[i]);
    }
    return Emit.output(ctx, site, "mul", Phase.FORWARD, p, a.shape(), x, a, b);
  }

  /** dA = dY ⊙ other (call with other = b for dA, other = a for dB), rounded to {@code format}. */
  public static Tensor backward(
      OpContext ctx, Site site, Precision p, Tensor dy, Tensor other, FloatFormat format) {
    if (Emit.floatPath(p, format, dy, other)) {
      float[] g = dy.toFloatArray();
      ElementwiseKernels.mul(g, 0, other.toFloatArray(), 0, g, 0, g.length);
      return Emit.output(ctx, site, "mul.grad", Phase.BACKWARD, format, dy.shape(), g, dy, other);
    }
    return backwardDoubles(ctx, site, p, dy, other, format);
  }

  static Tensor backwardDoubles(
      OpContext ctx, Site site, Precision p, Tensor dy, Tensor other, FloatFormat format) {
    double[] g = dy.toDoubleArray(), o = other.toDoubleArray();
    for (int i = 0; i < g.length; i++) {
      g[i] = p.roundCompute(g[i] * o[i]);
    }
    return Emit.output(ctx, site, "mul.grad", Phase.BACKWARD, format, dy.shape(), g, dy, other);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var a, Var b) {
    Tensor y = forward(ctx, site, p, a.value(), b.value());
    return tape.record(
        "mul@" + site,
        y,
        (dy, needs) ->
            new Tensor[] {
              needs[0] ? backward(ctx, site, p, dy, b.value(), a.gradFormat()) : null,
              needs[1] ? backward(ctx, site, p, dy, a.value(), b.gradFormat()) : null
            },
        a,
        b);
  }
}
