package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.ElementwiseKernels;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Element-wise sum {@code y = a + b} (the residual connection), and {@link #atRows} which adds a
 * vector to chosen rows (ROME/MEMIT's delta added to the MLP output at the subject's last token).
 *
 * <p>Shapes: a, b, y: (T, C) (any equal shapes); for atRows x, y: (T, C), delta: (C).
 *
 * <p>Backward: {@code ∂y/∂a = ∂y/∂b = 1}, so {@code dA = dB = dY}; for atRows {@code dX = dY} and
 * {@code dDelta = Σ_{t ∈ rows} dY[t]} (a sum over the chosen rows, in {@code accumulate}).
 */
public final class Add {

  private Add() {}

  /** y = a + b, computed in {@code compute}, rounded to {@code output}. */
  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor a, Tensor b) {
    Emit.sameShape("add at " + site, "a", a, "b", b);
    if (Emit.floatPath(p, a, b)) {
      float[] x = a.toFloatArray();
      ElementwiseKernels.add(x, 0, b.toFloatArray(), 0, x, 0, x.length);
      return Emit.output(ctx, site, "add", Phase.FORWARD, p, a.shape(), x, a, b);
    }
    return forwardDoubles(ctx, site, p, a, b);
  }

  /** The double path of {@link #forward} (any precision; the float path's oracle in the tests). */
  static Tensor forwardDoubles(OpContext ctx, Site site, Precision p, Tensor a, Tensor b) {
    double[] x = a.toDoubleArray(), y = b.toDoubleArray();
    for (int i = 0; i < x.length; i++) {
      x[i] = p.roundCompute(x[i] + y[i]);
    }
    return Emit.output(ctx, site, "add", Phase.FORWARD, p, a.shape(), x, a, b);
  }

  /** dA = dB = dY, rounded to {@code format}. */
  public static Tensor backward(OpContext ctx, Site site, Tensor dy, FloatFormat format) {
    if (dy.format() != FloatFormat.FP64 && Emit.roundsFromFloat(format)) {
      return Emit.output(
          ctx, site, "add.grad", Phase.BACKWARD, format, dy.shape(), dy.toFloatArray(), dy);
    }
    return Emit.output(
        ctx, site, "add.grad", Phase.BACKWARD, format, dy.shape(), dy.toDoubleArray(), dy);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var a, Var b) {
    Tensor y = forward(ctx, site, p, a.value(), b.value());
    return tape.record(
        "add@" + site,
        y,
        (dy, needs) ->
            new Tensor[] {
              needs[0] ? backward(ctx, site, dy, a.gradFormat()) : null,
              needs[1] ? backward(ctx, site, dy, b.gradFormat()) : null
            },
        a,
        b);
  }

  /** y = x with {@code delta} added to each row listed in {@code rows}. x: (T, C); delta: (C). */
  public static Tensor atRowsForward(
      OpContext ctx, Site site, Precision p, Tensor x, Tensor delta, int[] rows) {
    int c = Math.toIntExact(x.shape().cols());
    int t = Math.toIntExact(x.shape().rows());
    Emit.check(
        delta.size() == c,
        "add at " + site + ": delta has " + delta.size() + " elements, x rows have " + c);
    if (Emit.floatPath(p, x, delta)) {
      float[] y = x.toFloatArray(), d = delta.toFloatArray();
      for (int r : rows) {
        Emit.check(r >= 0 && r < t, "add at " + site + ": row " + r + " is outside [0, " + t + ")");
        ElementwiseKernels.add(y, r * c, d, 0, y, r * c, c);
      }
      return Emit.output(ctx, site, "add_rows", Phase.FORWARD, p, x.shape(), y, x, delta);
    }
    double[] y = x.toDoubleArray(), d = delta.toDoubleArray();
    for (int r : rows) {
      Emit.check(r >= 0 && r < t, "add at " + site + ": row " + r + " is outside [0, " + t + ")");
      for (int j = 0; j < c; j++) {
        y[r * c + j] = p.roundCompute(y[r * c + j] + d[j]);
      }
    }
    return Emit.output(ctx, site, "add_rows", Phase.FORWARD, p, x.shape(), y, x, delta);
  }

  /**
   * dDelta = Σ_{t ∈ rows} dY[t], accumulated in {@code p.accumulate()}, rounded to {@code format}.
   */
  public static Tensor atRowsBackwardDelta(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dy,
      Shape deltaShape,
      int[] rows,
      FloatFormat format) {
    int c = Math.toIntExact(dy.shape().cols());
    double[] g = dy.toDoubleArray(), dd = new double[c];
    for (int r : rows) {
      for (int j = 0; j < c; j++) {
        dd[j] = p.accumulate(dd[j], g[r * c + j]);
      }
    }
    return Emit.output(ctx, site, "add_rows.ddelta", Phase.BACKWARD, format, deltaShape, dd, dy);
  }

  public static Var atRows(
      Tape tape, OpContext ctx, Site site, Precision p, Var x, Var delta, int[] rows) {
    int[] rs = rows.clone();
    Tensor y = atRowsForward(ctx, site, p, x.value(), delta.value(), rs);
    return tape.record(
        "add_rows@" + site,
        y,
        (dy, needs) ->
            new Tensor[] {
              needs[0] ? backward(ctx, site, dy, x.gradFormat()) : null,
              needs[1]
                  ? atRowsBackwardDelta(
                      ctx, site, p, dy, delta.value().shape(), rs, delta.gradFormat())
                  : null
            },
        x,
        delta);
  }
}
