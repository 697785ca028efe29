package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.ElementwiseKernels;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * RMSNorm (Zhang &amp; Sennrich 2019): {@code y = w ⊙ x̂}, {@code x̂ = x·rstd}, {@code rstd =
 * 1/√(mean(x²) + ε)}.
 *
 * <p>Shapes: x, y: (T, C); w: (C); rstd: (T).
 *
 * <p>Precision (mirrors HF {@code LlamaRMSNorm}): x², their {@code accumulate} sum, the mean, + ε
 * and the rsqrt, and {@code x·rstd} in {@code compute}; x̂ rounded to {@code output} ({@code
 * h.to(input_dtype)}); then {@code w ⊙ x̂} rounded to {@code output}. With compute = FP32 a massive
 * activation of 2622 squares to 6.9e6 harmlessly; with compute = FP16 it overflows to inf.
 *
 * <p>Backward (x̂ recomputed from the saved rstd): {@code dW = Σ_t dY[t] ⊙ x̂[t]}; with {@code g =
 * dY ⊙ w}, {@code dX = rstd·(g − x̂·mean(g ⊙ x̂))}, because {@code ∂rstd/∂x_c = −rstd³·x_c/C}.
 */
public final class RmsNorm {

  private RmsNorm() {}

  /** The output and what backward reads: rstd per row (T), in {@code compute}. */
  public record Forward(Tensor y, double[] rstd) {}

  public static Forward forward(
      OpContext ctx, Site site, Precision p, Tensor x, Tensor w, double eps) {
    int c = Math.toIntExact(x.shape().cols());
    int t = Math.toIntExact(x.shape().rows());
    Emit.check(
        w.size() == c,
        "rmsnorm at " + site + ": weight has " + w.size() + " elements, x rows have " + c);
    if (Emit.floatPath(p, x, w) && p.accumulate() == FloatFormat.FP32) {
      return forwardFloats(ctx, site, p, x, w, eps, t, c);
    }
    return forwardDoubles(ctx, site, p, x, w, eps);
  }

  /**
   * The FP32 row kernel's reduction: {@code rstd = (float)(1/√(Σx²/C + ε))} with the squares and
   * their sum sequential in FP32 ({@code s += x·x}, index 0 first, as {@link Reduce#sum} does in
   * FP32), the mean an FP32 quotient (C is exact in FP32; {@code (float)((double) s / C)} is the
   * same value, 53 ≥ 2·24 + 2), {@code mean + ε} in FP32 and the rsqrt as {@code 1.0 / Math.sqrt}
   * in double rounded once to FP32, as the double path with compute FP32. Scalar: the sum's order
   * is the result.
   */
  static float rstdFp32(float[] x, int xo, int c, float eps) {
    float s = 0f;
    for (int j = 0; j < c; j++) {
      float v = x[xo + j];
      s += v * v;
    }
    float mean = s / c;
    return (float) (1.0 / Math.sqrt(mean + eps));
  }

  /**
   * The FP32 row kernel of RMSNorm, shared by the op's float path (FP32 output) and llama's FP32
   * decode step: {@code y[yo+j] = w[j]·(x[xo+j]·rstd)} in FP32 with {@link #rstdFp32}; returns
   * rstd. x and y may be the same row.
   */
  public static float rowFp32(float[] x, int xo, float[] w, float eps, float[] y, int yo, int c) {
    float rs = rstdFp32(x, xo, c, eps);
    ElementwiseKernels.scale(rs, x, xo, y, yo, c);
    ElementwiseKernels.mul(w, 0, y, yo, y, yo, c);
    return rs;
  }

  /** Scalar twin of {@link #rowFp32} (the same bits). */
  public static float rowFp32Scalar(
      float[] x, int xo, float[] w, float eps, float[] y, int yo, int c) {
    float rs = rstdFp32(x, xo, c, eps);
    ElementwiseKernels.scaleScalar(rs, x, xo, y, yo, c);
    ElementwiseKernels.mulScalar(w, 0, y, yo, y, yo, c);
    return rs;
  }

  /**
   * The float path (compute and accumulate FP32), the double path's steps in the same order: FP32
   * output with IEEE rounding is {@link #rowFp32}; otherwise x̂ = x·rstd ({@link #rstdFp32}) is
   * rounded to the output format before w·x̂.
   */
  private static Forward forwardFloats(
      OpContext ctx, Site site, Precision p, Tensor x, Tensor w, double eps, int t, int c) {
    float[] xv = x.toFloatArray(), wv = w.toFloatArray();
    double[] rstd = new double[t];
    float e = (float) eps;
    boolean fp32Out = p.output() == FloatFormat.FP32 && p.rounding().isIeeeDefault();
    for (int r = 0; r < t; r++) {
      int o = r * c;
      if (fp32Out) {
        rstd[r] = rowFp32(xv, o, wv, e, xv, o, c);
        continue;
      }
      float rs = rstdFp32(xv, o, c, e);
      rstd[r] = rs;
      ElementwiseKernels.scale(rs, xv, o, xv, o, c);
      Emit.roundOutput(p, xv, o, o + c, o);
      ElementwiseKernels.mul(wv, 0, xv, o, xv, o, c);
    }
    Tensor y = Emit.output(ctx, site, "rmsnorm", Phase.FORWARD, p, x.shape(), xv, x, w);
    return new Forward(y, rstd);
  }

  /** The double path of {@link #forward} (any precision; the float path's oracle in the tests). */
  static Forward forwardDoubles(
      OpContext ctx, Site site, Precision p, Tensor x, Tensor w, double eps) {
    int c = Math.toIntExact(x.shape().cols());
    int t = Math.toIntExact(x.shape().rows());
    double[] xv = x.toDoubleArray(),
        wv = w.toDoubleArray(),
        sq = new double[c],
        rstd = new double[t];
    double e = p.roundCompute(eps);
    for (int r = 0; r < t; r++) {
      for (int j = 0; j < c; j++) {
        sq[j] = p.roundCompute(xv[r * c + j] * xv[r * c + j]);
      }
      double mean = p.roundCompute(Reduce.sum(p.accumulate(), sq, 0, 1, c) / c);
      rstd[r] = p.roundCompute(1.0 / Math.sqrt(p.roundCompute(mean + e)));
      for (int j = 0; j < c; j++) {
        double xhat = p.roundOutput(p.roundCompute(xv[r * c + j] * rstd[r]), r * c + j);
        xv[r * c + j] = p.roundCompute(wv[j] * xhat);
      }
    }
    Tensor y = Emit.output(ctx, site, "rmsnorm", Phase.FORWARD, p, x.shape(), xv, x, w);
    return new Forward(y, rstd);
  }

  /** dX = rstd·(g − x̂·mean(g ⊙ x̂)), g = dY ⊙ w; rounded to {@code format}. */
  public static Tensor backwardInput(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dy,
      Tensor x,
      Tensor w,
      double[] rstd,
      FloatFormat format) {
    int c = Math.toIntExact(x.shape().cols());
    int t = Math.toIntExact(x.shape().rows());
    if (Emit.floatPath(p, format, dy, x, w)
        && p.accumulate() == FloatFormat.FP32
        && allFloats(rstd)) {
      float[] xv = x.toFloatArray(), wv = w.toFloatArray(), gv = dy.toFloatArray();
      float[] g = new float[c], xhat = new float[c];
      for (int r = 0; r < t; r++) {
        int o = r * c;
        float rs = (float) rstd[r];
        ElementwiseKernels.scale(rs, xv, o, xhat, 0, c); // x·rstd (commutative)
        ElementwiseKernels.mul(gv, o, wv, 0, g, 0, c);
        float s = 0f;
        for (int j = 0; j < c; j++) {
          s += g[j] * xhat[j]; // sequential FP32 sum of the FP32 products, as Reduce.sum
        }
        float m = s / c;
        for (int j = 0; j < c; j++) {
          gv[o + j] = rs * (g[j] - xhat[j] * m);
        }
      }
      return Emit.output(ctx, site, "rmsnorm.dx", Phase.BACKWARD, format, x.shape(), gv, dy, x, w);
    }
    return backwardInputDoubles(ctx, site, p, dy, x, w, rstd, format);
  }

  /**
   * The double path of {@link #backwardInput} (any precision; the float path's oracle in the
   * tests).
   */
  static Tensor backwardInputDoubles(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dy,
      Tensor x,
      Tensor w,
      double[] rstd,
      FloatFormat format) {
    int c = Math.toIntExact(x.shape().cols());
    int t = Math.toIntExact(x.shape().rows());
    double[] xv = x.toDoubleArray(), wv = w.toDoubleArray(), gv = dy.toDoubleArray();
    double[] g = new double[c],
        xhat = new double[c],
        gx = new double[c],
        dx = new double[xv.length];
    for (int r = 0; r < t; r++) {
      for (int j = 0; j < c; j++) {
        xhat[j] = p.roundCompute(xv[r * c + j] * rstd[r]);
        g[j] = p.roundCompute(gv[r * c + j] * wv[j]);
        gx[j] = p.roundCompute(g[j] * xhat[j]);
      }
      double m = p.roundCompute(Reduce.sum(p.accumulate(), gx, 0, 1, c) / c);
      for (int j = 0; j < c; j++) {
        dx[r * c + j] =
            p.roundCompute(rstd[r] * p.roundCompute(g[j] - p.roundCompute(xhat[j] * m)));
      }
    }
    return Emit.output(ctx, site, "rmsnorm.dx", Phase.BACKWARD, format, x.shape(), dx, dy, x, w);
  }

  /** dW = Σ_t dY[t] ⊙ x̂[t] (sum over rows in {@code accumulate}); rounded to {@code format}. */
  public static Tensor backwardWeight(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dy,
      Tensor x,
      Tensor w,
      double[] rstd,
      FloatFormat format) {
    int c = Math.toIntExact(x.shape().cols());
    int t = Math.toIntExact(x.shape().rows());
    if (Emit.floatPath(p, format, dy, x)
        && Emit.roundsFromFloat(p.output())
        && p.accumulate() == FloatFormat.FP32
        && allFloats(rstd)) {
      float[] xv = x.toFloatArray(), gv = dy.toFloatArray(), dw = new float[c];
      for (int r = 0; r < t; r++) {
        int o = r * c;
        ElementwiseKernels.scale((float) rstd[r], xv, o, xv, o, c);
        Emit.roundOutput(p, xv, o, o + c, o);
        ElementwiseKernels.mul(gv, o, xv, o, xv, o, c);
        for (int j = 0; j < c; j++) {
          dw[j] += xv[o + j]; // column j summed over rows 0, 1, … as Reduce.sum(…, j, c, t)
        }
      }
      return Emit.output(ctx, site, "rmsnorm.dw", Phase.BACKWARD, format, w.shape(), dw, dy, x);
    }
    return backwardWeightDoubles(ctx, site, p, dy, x, w, rstd, format);
  }

  /**
   * The double path of {@link #backwardWeight} (any precision; the float path's oracle in the
   * tests).
   */
  static Tensor backwardWeightDoubles(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dy,
      Tensor x,
      Tensor w,
      double[] rstd,
      FloatFormat format) {
    int c = Math.toIntExact(x.shape().cols());
    int t = Math.toIntExact(x.shape().rows());
    double[] xv = x.toDoubleArray(), gv = dy.toDoubleArray(), terms = new double[xv.length];
    for (int r = 0; r < t; r++) {
      for (int j = 0; j < c; j++) {
        double xhat = p.roundOutput(p.roundCompute(xv[r * c + j] * rstd[r]), r * c + j);
        terms[r * c + j] = p.roundCompute(gv[r * c + j] * xhat);
      }
    }
    double[] dw = new double[c];
    for (int j = 0; j < c; j++) {
      dw[j] = Reduce.sum(p.accumulate(), terms, j, c, t);
    }
    return Emit.output(ctx, site, "rmsnorm.dw", Phase.BACKWARD, format, w.shape(), dw, dy, x);
  }

  /**
   * Whether every rstd is a float (an FP32-compute forward's), so the float backward may read it.
   */
  private static boolean allFloats(double[] v) {
    for (double d : v) {
      if ((float) d != d && !Double.isNaN(d)) {
        return false;
      }
    }
    return true;
  }

  public static Var apply(
      Tape tape, OpContext ctx, Site site, Precision p, Var x, Var w, double eps) {
    Forward f = forward(ctx, site, p, x.value(), w.value(), eps);
    return tape.record(
        "rmsnorm@" + site,
        f.y(),
        (dy, needs) ->
            new Tensor[] {
              needs[0]
                  ? backwardInput(ctx, site, p, dy, x.value(), w.value(), f.rstd(), x.gradFormat())
                  : null,
              needs[1]
                  ? backwardWeight(ctx, site, p, dy, x.value(), w.value(), f.rstd(), w.gradFormat())
                  : null
            },
        x,
        w);
  }
}
