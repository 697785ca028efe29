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
 * Softmax over the last axis, {@code y_j = e^{x_j − m} / Σ_k e^{x_k − m}} with {@code m = max_k
 * x_k} (the max subtraction keeps every exponent ≤ 0, so only the sum can overflow).
 *
 * <p>Shapes: x, y: (T, V) (rows are all axes but the last).
 *
 * <p>Precision: the differences, the exponentials and the quotients in {@code compute}, the row sum
 * in {@code accumulate}, output rounded once. A row holding NaN or +inf gives NaN, and a row that
 * is entirely −inf gives NaN (0/0), as in PyTorch.
 *
 * <p>Backward: {@code ∂y_j/∂x_i = y_j(δ_ij − y_i)}, so {@code dX_i = y_i·(dY_i − Σ_j dY_j·y_j)},
 * read from the saved output y.
 */
public final class Softmax {

  private Softmax() {}

  /**
   * One row: out[oo + j] = softmax(x[xo … xo+n))_j in {@code compute}, not yet rounded to output.
   */
  static void row(Precision p, double[] x, int xo, int n, double[] out, int oo) {
    if (p.compute() == FloatFormat.FP32 && p.accumulate() == FloatFormat.FP32) {
      rowFp32(x, xo, n, out, oo);
      return;
    }
    double m = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      m = Math.max(m, x[xo + j]); // Math.max propagates NaN
    }
    for (int j = 0; j < n; j++) {
      out[oo + j] = p.roundCompute(Math.exp(p.roundCompute(x[xo + j] - m)));
    }
    double s = Reduce.sum(p.accumulate(), out, oo, 1, n);
    for (int j = 0; j < n; j++) {
      out[oo + j] = p.roundCompute(out[oo + j] / s);
    }
  }

  /**
   * {@link #row} with compute and accumulate FP32 on double arrays (attention's scores): the same
   * steps with the roundings written out ({@code Precision.round(FP32, v)} is {@code (float) v},
   * {@link Reduce#sum} in FP32 is a sequential float sum of {@code (float) a[i]}), so no
   * per-element format dispatch; the values need not be floats.
   */
  private static void rowFp32(double[] x, int xo, int n, double[] out, int oo) {
    double m = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      m = Math.max(m, x[xo + j]);
    }
    float s = 0f;
    for (int j = 0; j < n; j++) {
      float d = (float) (x[xo + j] - m);
      // e^d < 2^-150 (half FP32's smallest subnormal) for d ≤ −104, so (float) Math.exp(d) is +0:
      // masked scores (finfo.min) skip the call. NaN fails the test and goes through exp.
      float e = d <= -104f ? 0f : (float) Math.exp(d);
      out[oo + j] = e;
      s += e;
    }
    for (int j = 0; j < n; j++) {
      out[oo + j] = (float) (out[oo + j] / s);
    }
  }

  /**
   * The FP32 row kernel of softmax, shared by the op's float path and llama's FP32 decode step
   * (attention's rows): {@code rows} rows of n, {@code x[xo + r·n …]} into {@code out[oo + r·n …]}
   * (out may be x). {@link #row} with compute and accumulate FP32, on floats: the max as there
   * ({@code Math.max} propagates NaN and orders −0 below +0 for float as for double), then x − m,
   * {@code (float) Math.exp} (bit for bit through {@link Kernels#mathExp}, one call for all rows),
   * the sequential FP32 sum of each row (index 0 first: {@link Reduce#sum}'s FP32 order; four rows
   * at a time are four independent chains, the same bits) and the quotients.
   */
  public static void rowsFp32(float[] x, int xo, int rows, int n, float[] out, int oo) {
    for (int r = 0; r < rows; r++) {
      ElementwiseKernels.subtract(x, xo + r * n, max(x, xo + r * n, n), out, oo + r * n, n);
    }
    Kernels.mathExp(out, oo, out, oo, rows * n);
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
      float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
      for (int j = oo + r * n, end = j + n; j < end; j++) {
        s0 += out[j];
        s1 += out[j + n];
        s2 += out[j + 2 * n];
        s3 += out[j + 3 * n];
      }
      ElementwiseKernels.divide(out, oo + r * n, s0, out, oo + r * n, n);
      ElementwiseKernels.divide(out, oo + (r + 1) * n, s1, out, oo + (r + 1) * n, n);
      ElementwiseKernels.divide(out, oo + (r + 2) * n, s2, out, oo + (r + 2) * n, n);
      ElementwiseKernels.divide(out, oo + (r + 3) * n, s3, out, oo + (r + 3) * n, n);
    }
    for (; r < rows; r++) {
      int o = oo + r * n;
      ElementwiseKernels.divide(out, o, sum(out, o, n), out, o, n);
    }
  }

  /** Scalar twin of {@link #rowsFp32} (the same bits, one row at a time). */
  public static void rowsFp32Scalar(float[] x, int xo, int rows, int n, float[] out, int oo) {
    for (int r = 0; r < rows; r++) {
      int i = xo + r * n, o = oo + r * n;
      ElementwiseKernels.subtractScalar(x, i, max(x, i, n), out, o, n);
      Kernels.mathExpScalar(out, o, out, o, n);
      ElementwiseKernels.divideScalar(out, o, sum(out, o, n), out, o, n);
    }
  }

  /** max of x[xo … xo+n) with {@code Math.max} (NaN wins), −inf for an empty row. */
  private static float max(float[] x, int xo, int n) {
    float m = Float.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      m = Math.max(m, x[xo + j]);
    }
    return m;
  }

  /** Sequential FP32 sum of x[xo … xo+n), index 0 first. */
  private static float sum(float[] x, int xo, int n) {
    float s = 0f;
    for (int j = 0; j < n; j++) {
      s += x[xo + j];
    }
    return s;
  }

  /** Whether the float forms of the rows apply: compute and accumulate FP32, no FP64 input. */
  static boolean floatRows(Precision p, FloatFormat out, Tensor... inputs) {
    return p.accumulate() == FloatFormat.FP32 && Emit.floatPath(p, out, inputs);
  }

  /** One row of the backward: out[oo + i] = y_i·(dy_i − Σ_j dy_j·y_j) in {@code compute}. */
  static void rowBackward(
      Precision p, double[] y, int yo, double[] dy, int go, int n, double[] out, int oo) {
    double dot = Reduce.dot(p.accumulate(), dy, go, 1, y, yo, 1, n);
    if (p.compute() == FloatFormat.FP32) { // the roundings written out, as in rowFp32
      for (int i = 0; i < n; i++) {
        out[oo + i] = (float) (y[yo + i] * (double) (float) (dy[go + i] - dot));
      }
      return;
    }
    for (int i = 0; i < n; i++) {
      out[oo + i] = p.roundCompute(y[yo + i] * p.roundCompute(dy[go + i] - dot));
    }
  }

  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor x) {
    int n = Math.toIntExact(x.shape().cols());
    int rows = Math.toIntExact(x.shape().rows());
    if (floatRows(p, p.output(), x)) {
      float[] xv = x.toFloatArray();
      rowsFp32(xv, 0, rows, n, xv, 0);
      return Emit.output(ctx, site, "softmax", Phase.FORWARD, p, x.shape(), xv, x);
    }
    return forwardDoubles(ctx, site, p, x);
  }

  /** The double path (any precision; the float path's oracle in the tests). */
  static Tensor forwardDoubles(OpContext ctx, Site site, Precision p, Tensor x) {
    int n = Math.toIntExact(x.shape().cols());
    int rows = Math.toIntExact(x.shape().rows());
    double[] xv = x.toDoubleArray(), y = new double[xv.length];
    for (int r = 0; r < rows; r++) {
      row(p, xv, r * n, n, y, r * n);
    }
    return Emit.output(ctx, site, "softmax", Phase.FORWARD, p, x.shape(), y, x);
  }

  /** dX from dY and the forward's output y, rounded to {@code format}. */
  public static Tensor backward(
      OpContext ctx, Site site, Precision p, Tensor dy, Tensor y, FloatFormat format) {
    int n = Math.toIntExact(y.shape().cols());
    int rows = Math.toIntExact(y.shape().rows());
    if (floatRows(p, format, dy, y)) {
      float[] yv = y.toFloatArray(), g = dy.toFloatArray();
      for (int r = 0; r < rows; r++) {
        int o = r * n;
        float dot = 0f;
        for (int j = 0; j < n; j++) {
          dot += g[o + j] * yv[o + j]; // Reduce.dot's FP32 order: product, then sum, no FMA
        }
        for (int i = 0; i < n; i++) {
          g[o + i] = yv[o + i] * (g[o + i] - dot);
        }
      }
      return Emit.output(ctx, site, "softmax.grad", Phase.BACKWARD, format, y.shape(), g, dy, y);
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
      rowBackward(p, yv, r * n, g, r * n, n, dx, r * n);
    }
    return Emit.output(ctx, site, "softmax.grad", Phase.BACKWARD, format, y.shape(), dx, dy, y);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var x) {
    Tensor y = forward(ctx, site, p, x.value());
    return tape.record(
        "softmax@" + site,
        y,
        (dy, needs) -> new Tensor[] {backward(ctx, site, p, dy, y, x.gradFormat())},
        x);
  }
}
