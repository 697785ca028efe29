package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.ElementwiseKernels;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Multiplication by a constant {@code y = s·x} (attention's 1/√D, a loss scale, a KL factor). The
 * constant is first rounded to {@code compute}, as PyTorch holds a Python scalar in its opmath
 * type.
 *
 * <p>Shapes: x, y: any shape.
 *
 * <p>Backward: {@code ∂y_i/∂x_i = s}, so {@code dX = s·dY}.
 */
public final class Scale {

  private Scale() {}

  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor x, double s) {
    if (Emit.floatPath(p, x)) {
      float[] v = x.toFloatArray();
      ElementwiseKernels.scale((float) s, v, 0, v, 0, v.length); // (float) s = roundCompute(s)
      return Emit.output(ctx, site, "scale", Phase.FORWARD, p, x.shape(), v, x);
    }
    return forwardDoubles(ctx, site, p, x, s);
  }

  /** The double path of {@link #forward} (any precision; the float path's oracle in the tests). */
  static Tensor forwardDoubles(OpContext ctx, Site site, Precision p, Tensor x, double s) {
    double sc = p.roundCompute(s);
    double[] v = x.toDoubleArray();
    for (int i = 0; i < v.length; i++) {
      v[i] = p.roundCompute(sc * v[i]);
    }
    return Emit.output(ctx, site, "scale", Phase.FORWARD, p, x.shape(), v, x);
  }

  public static Tensor backward(
      OpContext ctx, Site site, Precision p, Tensor dy, double s, FloatFormat format) {
    if (Emit.floatPath(p, format, dy)) {
      float[] g = dy.toFloatArray();
      ElementwiseKernels.scale((float) s, g, 0, g, 0, g.length);
      return Emit.output(ctx, site, "scale.grad", Phase.BACKWARD, format, dy.shape(), g, dy);
    }
    return backwardDoubles(ctx, site, p, dy, s, format);
  }

  static Tensor backwardDoubles(
      OpContext ctx, Site site, Precision p, Tensor dy, double s, FloatFormat format) {
    double sc = p.roundCompute(s);
    double[] g = dy.toDoubleArray();
    for (int i = 0; i < g.length; i++) {
      g[i] = p.roundCompute(sc * g[i]);
    }
    return Emit.output(ctx, site, "scale.grad", Phase.BACKWARD, format, dy.shape(), g, dy);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var x, double s) {
    Tensor y = forward(ctx, site, p, x.value(), s);
    return tape.record(
        "scale@" + site,
        y,
        (dy, needs) -> new Tensor[] {backward(ctx, site, p, dy, s, x.gradFormat())},
        x);
  }
}
