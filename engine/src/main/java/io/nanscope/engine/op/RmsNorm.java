package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * RMSNorm (Zhang &amp; Sennrich 2019): {@code y = w ⊙ x̂}, {@code x̂ = x·rstd}, {@code rstd = 1/√(mean(x²) + ε)}.
 *
 * <p>Shapes: x, y: (T, C); w: (C); rstd: (T).
 *
 * <p>Precision (mirrors HF {@code LlamaRMSNorm}): x², their {@code accumulate} sum, the mean, + ε and
 * the rsqrt, and {@code x·rstd} in {@code compute}; x̂ rounded to {@code output} ({@code
 * h.to(input_dtype)}); then {@code w ⊙ x̂} rounded to {@code output}. With compute = FP32 a massive
 * activation of 2622 squares to 6.9e6 harmlessly; with compute = FP16 it overflows to inf.
 *
 * <p>Backward (x̂ recomputed from the saved rstd): {@code dW = Σ_t dY[t] ⊙ x̂[t]}; with
 * {@code g = dY ⊙ w}, {@code dX = rstd·(g − x̂·mean(g ⊙ x̂))}, because
 * {@code ∂rstd/∂x_c = −rstd³·x_c/C}.
 */
public final class RmsNorm {

  private RmsNorm() {}

  /** The output and what backward reads: rstd per row (T), in {@code compute}. */
  public record Forward(Tensor y, double[] rstd) {}

  public static Forward forward(OpContext ctx, Site site, Precision p, Tensor x, Tensor w, double eps) {
    int c = Math.toIntExact(x.shape().cols());
    int t = Math.toIntExact(x.shape().rows());
    Emit.check(w.size() == c, "rmsnorm at " + site + ": weight has " + w.size() + " elements, x rows have " + c);
    double[] xv = x.toDoubleArray(), wv = w.toDoubleArray(), sq = new double[c], rstd = new double[t];
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
      OpContext ctx, Site site, Precision p, Tensor dy, Tensor x, Tensor w, double[] rstd, FloatFormat format) {
    int c = Math.toIntExact(x.shape().cols());
    int t = Math.toIntExact(x.shape().rows());
    double[] xv = x.toDoubleArray(), wv = w.toDoubleArray(), gv = dy.toDoubleArray();
    double[] g = new double[c], xhat = new double[c], gx = new double[c], dx = new double[xv.length];
    for (int r = 0; r < t; r++) {
      for (int j = 0; j < c; j++) {
        xhat[j] = p.roundCompute(xv[r * c + j] * rstd[r]);
        g[j] = p.roundCompute(gv[r * c + j] * wv[j]);
        gx[j] = p.roundCompute(g[j] * xhat[j]);
      }
      double m = p.roundCompute(Reduce.sum(p.accumulate(), gx, 0, 1, c) / c);
      for (int j = 0; j < c; j++) {
        dx[r * c + j] = p.roundCompute(rstd[r] * p.roundCompute(g[j] - p.roundCompute(xhat[j] * m)));
      }
    }
    return Emit.output(ctx, site, "rmsnorm.dx", Phase.BACKWARD, format, x.shape(), dx, dy, x, w);
  }

  /** dW = Σ_t dY[t] ⊙ x̂[t] (sum over rows in {@code accumulate}); rounded to {@code format}. */
  public static Tensor backwardWeight(
      OpContext ctx, Site site, Precision p, Tensor dy, Tensor x, Tensor w, double[] rstd, FloatFormat format) {
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

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var x, Var w, double eps) {
    Forward f = forward(ctx, site, p, x.value(), w.value(), eps);
    return tape.record(
        "rmsnorm@" + site,
        f.y(),
        (dy, needs) ->
            new Tensor[] {
              needs[0] ? backwardInput(ctx, site, p, dy, x.value(), w.value(), f.rstd(), x.gradFormat()) : null,
              needs[1] ? backwardWeight(ctx, site, p, dy, x.value(), w.value(), f.rstd(), w.gradFormat()) : null
            },
        x,
        w);
  }
}
