package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.ElementwiseKernels;
import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Log-softmax over the last axis, {@code y_j = (x_j − m) − log Σ_k e^{x_k − m}}, {@code m = max_k
 * x_k}.
 *
 * <p>Shapes: x, y: (T, V).
 *
 * <p>Precision: differences, exponentials, the log and the final subtraction in {@code compute};
 * the row sum in {@code accumulate}; output rounded once.
 *
 * <p>Backward: {@code ∂y_j/∂x_i = δ_ij − softmax(x)_i}, so {@code dX_i = dY_i − e^{y_i}·Σ_j dY_j},
 * read from the saved output y.
 */
public final class LogSoftmax {

  private LogSoftmax() {}

  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor x) {
    int n = Math.toIntExact(x.shape().cols());
    int rows = Math.toIntExact(x.shape().rows());
    if (Softmax.floatRows(p, p.output(), x)) {
      float[] xv = x.toFloatArray(), e = new float[n];
      for (int r = 0; r < rows; r++) {
        int o = r * n;
        float m = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
          m = Math.max(m, xv[o + j]);
        }
        ElementwiseKernels.subtract(xv, o, m, xv, o, n);
        Kernels.mathExp(xv, o, e, 0, n);
        float s = 0f;
        for (int j = 0; j < n; j++) {
          s += e[j]; // sequential FP32 sum, index 0 first
        }
        ElementwiseKernels.subtract(xv, o, (float) Math.log(s), xv, o, n);
      }
      return Emit.output(ctx, site, "log_softmax", Phase.FORWARD, p, x.shape(), xv, x);
    }
    return forwardDoubles(ctx, site, p, x);
  }

  /** The double path (any precision; the float path's oracle in the tests). */
  static Tensor forwardDoubles(OpContext ctx, Site site, Precision p, Tensor x) {
    int n = Math.toIntExact(x.shape().cols());
    int rows = Math.toIntExact(x.shape().rows());
    double[] xv = x.toDoubleArray(), e = new double[n], y = new double[xv.length];
    for (int r = 0; r < rows; r++) {
      double m = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < n; j++) {
        m = Math.max(m, xv[r * n + j]);
      }
      for (int j = 0; j < n; j++) {
        y[r * n + j] = p.roundCompute(xv[r * n + j] - m);
        e[j] = p.roundCompute(Math.exp(y[r * n + j]));
      }
      double lse = p.roundCompute(Math.log(Reduce.sum(p.accumulate(), e, 0, 1, n)));
      for (int j = 0; j < n; j++) {
        y[r * n + j] = p.roundCompute(y[r * n + j] - lse);
      }
    }
    return Emit.output(ctx, site, "log_softmax", Phase.FORWARD, p, x.shape(), y, x);
  }

  /** dX = dY − e^{y}·Σ dY, rounded to {@code format}. */
  public static Tensor backward(
      OpContext ctx, Site site, Precision p, Tensor dy, Tensor y, FloatFormat format) {
    int n = Math.toIntExact(y.shape().cols());
    int rows = Math.toIntExact(y.shape().rows());
    if (Softmax.floatRows(p, format, dy, y)) {
      float[] yv = y.toFloatArray(), g = dy.toFloatArray();
      Kernels.mathExp(yv, 0, yv, 0, yv.length); // softmax = (float) Math.exp(y)
      for (int r = 0; r < rows; r++) {
        int o = r * n;
        float s = 0f;
        for (int j = 0; j < n; j++) {
          s += g[o + j];
        }
        for (int i = 0; i < n; i++) {
          g[o + i] = g[o + i] - yv[o + i] * s;
        }
      }
      return Emit.output(
          ctx, site, "log_softmax.grad", Phase.BACKWARD, format, y.shape(), g, dy, y);
    }
    return backwardDoubles(ctx, site, p, dy, y, format);
  }

  /** The double path (any precision; the float path's oracle in the tests). */
  static Tensor backwardDoubles(
      OpContext ctx, Site site, Precision p, Tensor dy, Tensor y, FloatFormat format) {
    int n = Math.toIntExact(y.shape().cols());
    int rows = Math.toIntExact(y.shape().rows());
    double[] yv = y.toDoubleArray(), g = dy.toDoubleArray(), dx = new double[yv.length];
    for (int r = 0; r < rows; r++) {
      double s = Reduce.sum(p.accumulate(), g, r * n, 1, n);
      for (int i = 0; i < n; i++) {
        double soft = p.roundCompute(Math.exp(yv[r * n + i]));
        dx[r * n + i] = p.roundCompute(g[r * n + i] - p.roundCompute(soft * s));
      }
    }
    return Emit.output(ctx, site, "log_softmax.grad", Phase.BACKWARD, format, y.shape(), dx, dy, y);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var x) {
    Tensor y = forward(ctx, site, p, x.value());
    return tape.record(
        "log_softmax@" + site,
        y,
        (dy, needs) -> new Tensor[] {backward(ctx, site, p, dy, y, x.gradFormat())},
        x);
  }
}
