package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Conversion to another format, {@code y = round_target(x)} (PyTorch {@code x.to(dtype)}; HF's
 * {@code logits.float()} upcast). The target is the argument itself, not a policy entry.
 *
 * <p>Shapes: x, y: any shape.
 *
 * <p>Backward: the rounding is treated as the identity (as autograd does), so {@code dX = dY}
 * rounded to x's gradient format.
 */
public final class Cast {

  private Cast() {}

  public static Tensor forward(OpContext ctx, Site site, Tensor x, FloatFormat target) {
    if (x.format() != FloatFormat.FP64 && Emit.roundsFromFloat(target)) { // floats, rounded once
      return Emit.output(ctx, site, "cast", Phase.FORWARD, target, x.shape(), x.toFloatArray(), x);
    }
    return Emit.output(ctx, site, "cast", Phase.FORWARD, target, x.shape(), x.toDoubleArray(), x);
  }

  public static Tensor backward(OpContext ctx, Site site, Tensor dy, FloatFormat format) {
    if (dy.format() != FloatFormat.FP64 && Emit.roundsFromFloat(format)) {
      return Emit.output(
          ctx, site, "cast.grad", Phase.BACKWARD, format, dy.shape(), dy.toFloatArray(), dy);
    }
    return Emit.output(
        ctx, site, "cast.grad", Phase.BACKWARD, format, dy.shape(), dy.toDoubleArray(), dy);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Var x, FloatFormat target) {
    Tensor y = forward(ctx, site, x.value(), target);
    return tape.record(
        "cast@" + site,
        y,
        (dy, needs) -> new Tensor[] {backward(ctx, site, dy, x.gradFormat())},
        x);
  }
}
