package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * The linear layer {@code y = x·Wᵀ} (PyTorch {@code F.linear} without bias, HF {@code q_proj},
 * {@code down_proj}, {@code lm_head}…).
 *
 * <p>Shapes: x: (T, C) (any leading dims, flattened to T rows); W: (N, C); y: (T, N).
 *
 * <p>Backward: {@code y[t,n] = Σ_c x[t,c]·W[n,c]}, so {@code ∂L/∂x[t,c] = Σ_n dY[t,n]·W[n,c]}, i.e.
 * {@code dX = dY·W} (T, C), and {@code ∂L/∂W[n,c] = Σ_t dY[t,n]·x[t,c]}, i.e. {@code dW = dYᵀ·X}
 * (N, C). Both are GEMMs with the same accumulator as the forward.
 *
 * <p>Precision: products and partial sums in {@code accumulate} (FP32: {@code
 * engine.simd.Kernels}), output rounded once to {@code output}; gradients rounded once to their own
 * format.
 */
public final class MatMul {

  private MatMul() {}

  /** y = x·Wᵀ. x: (T, C); W: (N, C); y: (T, N) in {@code p.output()}. */
  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor x, Tensor w) {
    Emit.check(w.shape().rank() == 2, "matmul at " + site + ": W must be (N, C), got " + w.shape());
    Shape shape = outShape(x, w.shape().dim(0));
    if (AccumulatorGemm.floatResult(p.accumulate(), x, w) && p.output() != FloatFormat.FP64) {
      // The FP32 kernels' floats, rounded once to the output by Emit's float form: the same bits
      // as widening them to doubles first, and a traced 16-bit output is encoded and its
      // unrounded copy kept in one pass.
      float[] y = AccumulatorGemm.ntFloats(x, w, ctx.threads());
      return Emit.output(ctx, site, "matmul", Phase.FORWARD, p, shape, y, x, w);
    }
    double[] y = AccumulatorGemm.nt(p.accumulate(), x, w, ctx.threads());
    return Emit.output(ctx, site, "matmul", Phase.FORWARD, p, shape, y, x, w);
  }

  /** dX = dY·W. dY: (T, N); W: (N, C); dX: (T, C) in {@code format}. */
  public static Tensor backwardInput(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dy,
      Tensor w,
      Shape xShape,
      FloatFormat format) {
    double[] dx = AccumulatorGemm.nn(p.accumulate(), dy, w, ctx.threads());
    return Emit.output(ctx, site, "matmul.dx", Phase.BACKWARD, format, xShape, dx, dy, w);
  }

  /** dW = dYᵀ·X. dY: (T, N); X: (T, C); dW: (N, C) in {@code format}. */
  public static Tensor backwardWeight(
      OpContext ctx, Site site, Precision p, Tensor dy, Tensor x, FloatFormat format) {
    Tensor dy2 = dy.reshape(Shape.of(dy.shape().rows(), dy.shape().cols()));
    Tensor x2 = x.reshape(Shape.of(x.shape().rows(), x.shape().cols()));
    double[] dw = AccumulatorGemm.tn(p.accumulate(), dy2, x2, ctx.threads());
    return Emit.output(
        ctx,
        site,
        "matmul.dw",
        Phase.BACKWARD,
        format,
        Shape.of(dy.shape().cols(), x.shape().cols()),
        dw,
        dy,
        x);
  }

  /**
   * The Gram matrix G = Xᵀ·X of the rows of X (ROME's key statistics: {@code mom2 += aᵀa}): the
   * same GEMM as {@link #backwardWeight} with dY = X, so each G[i, j] is one reduction over the T
   * rows in {@code p.accumulate()} (FP32: the Kernels GEMM), rounded once to {@code p.output()}.
   * Forward only: statistics are never differentiated. X: (T, C); G: (C, C).
   */
  public static Tensor gram(OpContext ctx, Site site, Precision p, Tensor x) {
    Tensor x2 = x.reshape(Shape.of(x.shape().rows(), x.shape().cols()));
    double[] g = AccumulatorGemm.tn(p.accumulate(), x2, x2, ctx.threads());
    long c = x2.shape().cols();
    return Emit.output(ctx, site, "gram", Phase.FORWARD, p, Shape.of(c, c), g, x);
  }

  /** y = x·Wᵀ on the tape; gradients flow to whichever of x, W requires one. */
  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var x, Var w) {
    Tensor y = forward(ctx, site, p, x.value(), w.value());
    return tape.record(
        "matmul@" + site,
        y,
        (dy, needs) ->
            new Tensor[] {
              needs[0]
                  ? backwardInput(ctx, site, p, dy, w.value(), x.value().shape(), x.gradFormat())
                  : null,
              needs[1] ? backwardWeight(ctx, site, p, dy, x.value(), w.gradFormat()) : null
            },
        x,
        w);
  }

  private static Shape outShape(Tensor x, long n) {
    long[] dims = x.shape().rank() == 0 ? new long[] {1} : x.shape().dims();
    dims[dims.length - 1] = n;
    return Shape.of(dims);
  }
}
