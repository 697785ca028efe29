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
 * SiLU (swish) {@code y = x·σ(x) = x / (1 + e^{−x})} (Elfwing et al. 2018; Llama's MLP activation).
 *
 * <p>Shapes: x, y: any shape, e.g. (T, F).
 *
 * <p>Backward: {@code σ' = σ(1−σ)}, so {@code dy/dx = σ + x·σ(1−σ) = σ·(1 + x·(1−σ))} and {@code dX
 * = dY ⊙ σ(x)·(1 + x·(1−σ(x)))}.
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

  /**
   * {@code d[i] = σ(x)·(1 + x·(1−σ(x)))} for x = {@code x[i]}, every step in FP32, in place of x:
   * the float form of {@link #siluDerivative} with compute = FP32 ({@code 1.0 / v} in double
   * rounded to FP32 equals the FP32 quotient, see {@code ElementwiseKernels}).
   */
  static void siluDerivative(float[] x, float[] d, int n) {
    float[] e = new float[n];
    for (int i = 0; i < n; i++) {
      e[i] = -x[i];
    }
    Kernels.mathExp(e, 0, e, 0, n); // (float) Math.exp(−x), bit for bit
    for (int i = 0; i < n; i++) {
      float v = x[i];
      float s = 1f / (1f + e[i]);
      d[i] = s * (1f + v * (1f - s));
    }
  }

  /**
   * The FP32 row kernel of SiLU, shared by the op's float path and (through {@link SwiGlu#rowFp32})
   * llama's FP32 decode step: {@code y[yo+i] = x / (1 + (float) Math.exp(−x))}, each step an FP32
   * operation ({@code ElementwiseKernels.silu}). x and y may be the same row; {@code scratch} holds
   * n floats and aliases neither.
   */
  public static void rowFp32(float[] x, int xo, float[] y, int yo, int n, float[] scratch) {
    ElementwiseKernels.silu(x, xo, y, yo, n, scratch);
  }

  /** Scalar twin of {@link #rowFp32} (the same bits). */
  public static void rowFp32Scalar(float[] x, int xo, float[] y, int yo, int n) {
    ElementwiseKernels.siluScalar(x, xo, y, yo, n);
  }

  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor x) {
    if (Emit.floatPath(p, x)) {
      float[] v = x.toFloatArray();
      rowFp32(v, 0, v, 0, v.length, new float[v.length]);
      return Emit.output(ctx, site, "silu", Phase.FORWARD, p, x.shape(), v, x);
    }
    return forwardDoubles(ctx, site, p, x);
  }

  /** The double path of {@link #forward} (any precision; the float path's oracle in the tests). */
  static Tensor forwardDoubles(OpContext ctx, Site site, Precision p, Tensor x) {
    double[] v = x.toDoubleArray();
    for (int i = 0; i < v.length; i++) {
      v[i] = silu(p, v[i]);
    }
    return Emit.output(ctx, site, "silu", Phase.FORWARD, p, x.shape(), v, x);
  }

  public static Tensor backward(
      OpContext ctx, Site site, Precision p, Tensor dy, Tensor x, FloatFormat format) {
    if (Emit.floatPath(p, format, dy, x)) {
      float[] g = dy.toFloatArray(), d = x.toFloatArray();
      siluDerivative(d, d, d.length);
      ElementwiseKernels.mul(g, 0, d, 0, g, 0, g.length);
      return Emit.output(ctx, site, "silu.grad", Phase.BACKWARD, format, x.shape(), g, dy, x);
    }
    return backwardDoubles(ctx, site, p, dy, x, format);
  }

  static Tensor backwardDoubles(
      OpContext ctx, Site site, Precision p, Tensor dy, Tensor x, FloatFormat format) {
    double[] g = dy.toDoubleArray(), v = x.toDoubleArray();
    for (int i = 0; i < g.length; i++) {
      g[i] = p.roundCompute(g[i] * siluDerivative(p, v[i]));
    }
    return Emit.output(ctx, site, "silu.grad", Phase.BACKWARD, format, x.shape(), g, dy, x);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var x) {
    Tensor y = forward(ctx, site, p, x.value());
    return tape.record(
        "silu@" + site,
        y,
        (dy, needs) -> new Tensor[] {backward(ctx, site, p, dy, x.value(), x.gradFormat())},
        x);
  }
}
