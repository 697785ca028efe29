package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * One element per row, {@code y[t] = x[t, index[t]]} (PyTorch {@code torch.gather(x, -1, index)}
 * with one index per row: the log-probability of a target token).
 *
 * <p>Shapes: x: (T, V); index: (T); y: (T).
 *
 * <p>Backward: {@code dX[t, v] = dY[t]} if {@code v = index[t]}, else 0.
 */
public final class Gather {

  private Gather() {}

  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor x, int[] index) {
    int t = Math.toIntExact(x.shape().rows());
    int v = Math.toIntExact(x.shape().cols());
    Emit.check(
        index.length == t,
        "gather at " + site + ": " + index.length + " indices for " + t + " rows of " + x.shape());
    double[] y = new double[t];
    for (int r = 0; r < t; r++) {
      Emit.check(
          index[r] >= 0 && index[r] < v,
          "gather at "
              + site
              + ": index "
              + index[r]
              + " in row "
              + r
              + " is outside [0, "
              + v
              + ")");
      y[r] = x.getDouble((long) r * v + index[r]);
    }
    return Emit.output(ctx, site, "gather", Phase.FORWARD, p, Shape.of(t), y, x);
  }

  public static Tensor backward(
      OpContext ctx, Site site, Tensor dy, Shape xShape, int[] index, FloatFormat format) {
    int v = Math.toIntExact(xShape.cols());
    double[] dx = new double[Math.toIntExact(xShape.size())];
    for (int r = 0; r < index.length; r++) {
      dx[r * v + index[r]] = dy.getDouble(r);
    }
    return Emit.output(ctx, site, "gather.grad", Phase.BACKWARD, format, xShape, dx, dy);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var x, int[] index) {
    int[] idx = index.clone();
    Tensor y = forward(ctx, site, p, x.value(), idx);
    return tape.record(
        "gather@" + site,
        y,
        (dy, needs) ->
            new Tensor[] {backward(ctx, site, dy, x.value().shape(), idx, x.gradFormat())},
        x);
  }
}
