package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Sum and mean of all elements, {@code s = Σ_i x_i}, {@code μ = s/N}.
 *
 * <p>Shapes: x: any; s, μ: ().
 *
 * <p>Precision: the sum in {@code accumulate} (sequential, index 0 first), the division in {@code
 * compute}. With a 16-bit accumulator {@code ones(10000)} sums to 2048 (docs/reference/numerics.md
 * §2).
 *
 * <p>Backward: {@code ∂s/∂x_i = 1}, {@code ∂μ/∂x_i = 1/N}: {@code dX = dS} or {@code dμ/N}
 * everywhere.
 */
public final class Sum {

  private Sum() {}

  /**
   * {@code Σ x} sequentially in FP32 (index 0 first), as {@link Reduce#sum} in FP32, from the
   * floats.
   */
  private static float sumFp32(float[] v) {
    float s = 0f;
    for (float x : v) {
      s += x;
    }
    return s;
  }

  private static boolean floatSum(Precision p, Tensor x) {
    return p.accumulate() == FloatFormat.FP32 && x.format() != FloatFormat.FP64;
  }

  public static Tensor sum(OpContext ctx, Site site, Precision p, Tensor x) {
    if (floatSum(p, x)) {
      double s = sumFp32(x.toFloatArray());
      return Emit.output(ctx, site, "sum", Phase.FORWARD, p, Shape.of(), new double[] {s}, x);
    }
    return sumDoubles(ctx, site, p, x);
  }

  /** The double path of {@link #sum} (any precision; the float path's oracle in the tests). */
  static Tensor sumDoubles(OpContext ctx, Site site, Precision p, Tensor x) {
    double[] v = x.toDoubleArray();
    double s = Reduce.sum(p.accumulate(), v, 0, 1, v.length);
    return Emit.output(ctx, site, "sum", Phase.FORWARD, p, Shape.of(), new double[] {s}, x);
  }

  public static Tensor mean(OpContext ctx, Site site, Precision p, Tensor x) {
    if (floatSum(p, x)) {
      double s = p.roundCompute(sumFp32(x.toFloatArray()) / (double) x.size());
      return Emit.output(ctx, site, "mean", Phase.FORWARD, p, Shape.of(), new double[] {s}, x);
    }
    return meanDoubles(ctx, site, p, x);
  }

  /** The double path of {@link #mean}. */
  static Tensor meanDoubles(OpContext ctx, Site site, Precision p, Tensor x) {
    double[] v = x.toDoubleArray();
    double s = p.roundCompute(Reduce.sum(p.accumulate(), v, 0, 1, v.length) / v.length);
    return Emit.output(ctx, site, "mean", Phase.FORWARD, p, Shape.of(), new double[] {s}, x);
  }

  /** dX = dOut / divisor everywhere (divisor 1 for sum, N for mean), rounded to {@code format}. */
  public static Tensor backward(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dOut,
      Shape xShape,
      long divisor,
      FloatFormat format) {
    double g = divisor == 1 ? dOut.getDouble(0) : p.roundCompute(dOut.getDouble(0) / divisor);
    double[] d = new double[Math.toIntExact(xShape.size())];
    java.util.Arrays.fill(d, g);
    return Emit.output(
        ctx,
        site,
        divisor == 1 ? "sum.grad" : "mean.grad",
        Phase.BACKWARD,
        format,
        xShape,
        d,
        dOut);
  }

  public static Var sum(Tape tape, OpContext ctx, Site site, Precision p, Var x) {
    Tensor s = sum(ctx, site, p, x.value());
    return tape.record(
        "sum@" + site,
        s,
        (d, needs) ->
            new Tensor[] {backward(ctx, site, p, d, x.value().shape(), 1, x.gradFormat())},
        x);
  }

  public static Var mean(Tape tape, OpContext ctx, Site site, Precision p, Var x) {
    Tensor m = mean(ctx, site, p, x.value());
    long n = x.value().size();
    return tape.record(
        "mean@" + site,
        m,
        (d, needs) ->
            new Tensor[] {backward(ctx, site, p, d, x.value().shape(), n, x.gradFormat())},
        x);
  }
}
