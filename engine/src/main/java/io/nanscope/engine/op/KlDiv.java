package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * KL divergence between log-distributions with PyTorch's {@code kl_div(input, target,
 * log_target=True, reduction="batchmean")} semantics: {@code L = Σ_{b,v} e^{t_{bv}}·(t_{bv} −
 * i_{bv}) / B}, B = the size of the first axis. This is KL(target ‖ input) when each row is a
 * log-distribution. ROME calls it with input = the initial log-probs (detached) and target = the
 * current ones, so the gradient flows through the target. A target of −inf gives {@code 0·(−inf) =
 * NaN}, as in PyTorch.
 *
 * <p>Shapes: input, target: (B, V) (or (B, …)); L: ().
 *
 * <p>Backward: {@code ∂L/∂i = −e^{t}/B}; {@code ∂L/∂t = e^{t}·(t − i + 1)/B}.
 */
public final class KlDiv {

  private KlDiv() {}

  private static long batch(Tensor t) {
    return t.shape().rank() == 0 ? 1 : t.shape().dim(0);
  }

  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor input, Tensor target) {
    Emit.sameShape("kl_div at " + site, "input", input, "target", target);
    if (p.accumulate() == FloatFormat.FP32 && Emit.floatPath(p, input, target)) {
      float[] iv = input.toFloatArray(), tv = target.toFloatArray(), e = new float[tv.length];
      Kernels.mathExp(tv, 0, e, 0, tv.length); // (float) Math.exp(t), bit for bit
      float s = 0f;
      for (int k = 0; k < iv.length; k++) {
        s += e[k] * (tv[k] - iv[k]); // each term in FP32, summed sequentially, index 0 first
      }
      double loss = p.roundCompute(s / (double) batch(input));
      return Emit.output(
          ctx, site, "kl_div", Phase.FORWARD, p, Shape.of(), new double[] {loss}, input, target);
    }
    return forwardDoubles(ctx, site, p, input, target);
  }

  /** The double path of {@link #forward} (any precision; the float path's oracle in the tests). */
  static Tensor forwardDoubles(OpContext ctx, Site site, Precision p, Tensor input, Tensor target) {
    double[] iv = input.toDoubleArray(), tv = target.toDoubleArray();
    for (int k = 0; k < iv.length; k++) {
      iv[k] = p.roundCompute(p.roundCompute(Math.exp(tv[k])) * p.roundCompute(tv[k] - iv[k]));
    }
    double s = Reduce.sum(p.accumulate(), iv, 0, 1, iv.length);
    double loss = p.roundCompute(s / batch(input));
    return Emit.output(
        ctx, site, "kl_div", Phase.FORWARD, p, Shape.of(), new double[] {loss}, input, target);
  }

  /** dInput = −e^{t}·dL/B, rounded to {@code format}. */
  public static Tensor backwardInput(
      OpContext ctx, Site site, Precision p, Tensor dLoss, Tensor target, FloatFormat format) {
    double g = p.roundCompute(dLoss.getDouble(0) / batch(target));
    if (Emit.floatPath(p, format, target) && (float) g == g) {
      float[] tv = target.toFloatArray();
      Kernels.mathExp(tv, 0, tv, 0, tv.length);
      float gf = (float) g;
      for (int k = 0; k < tv.length; k++) {
        tv[k] = -tv[k] * gf;
      }
      return Emit.output(
          ctx, site, "kl_div.dinput", Phase.BACKWARD, format, target.shape(), tv, dLoss, target);
    }
    return backwardInputDoubles(ctx, site, p, dLoss, target, format);
  }

  /** The double path (any precision; the float path's oracle in the tests). */
  static Tensor backwardInputDoubles(
      OpContext ctx, Site site, Precision p, Tensor dLoss, Tensor target, FloatFormat format) {
    double g = p.roundCompute(dLoss.getDouble(0) / batch(target));
    double[] tv = target.toDoubleArray();
    for (int k = 0; k < tv.length; k++) {
      tv[k] = p.roundCompute(-p.roundCompute(Math.exp(tv[k])) * g);
    }
    return Emit.output(
        ctx, site, "kl_div.dinput", Phase.BACKWARD, format, target.shape(), tv, dLoss, target);
  }

  /** dTarget = e^{t}·(t − i + 1)·dL/B, rounded to {@code format}. */
  public static Tensor backwardTarget(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dLoss,
      Tensor input,
      Tensor target,
      FloatFormat format) {
    double g = p.roundCompute(dLoss.getDouble(0) / batch(target));
    if (Emit.floatPath(p, format, input, target) && (float) g == g) {
      float[] iv = input.toFloatArray(), tv = target.toFloatArray(), e = new float[tv.length];
      Kernels.mathExp(tv, 0, e, 0, tv.length);
      float gf = (float) g;
      for (int k = 0; k < tv.length; k++) {
        tv[k] = e[k] * ((tv[k] - iv[k]) + 1f) * gf;
      }
      return Emit.output(
          ctx,
          site,
          "kl_div.dtarget",
          Phase.BACKWARD,
          format,
          target.shape(),
          tv,
          dLoss,
          input,
          target);
    }
    return backwardTargetDoubles(ctx, site, p, dLoss, input, target, format);
  }

  /** The double path (any precision; the float path's oracle in the tests). */
  static Tensor backwardTargetDoubles(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dLoss,
      Tensor input,
      Tensor target,
      FloatFormat format) {
    double g = p.roundCompute(dLoss.getDouble(0) / batch(target));
    double[] iv = input.toDoubleArray(), tv = target.toDoubleArray();
    for (int k = 0; k < tv.length; k++) {
      double e = p.roundCompute(Math.exp(tv[k]));
      tv[k] =
          p.roundCompute(
              p.roundCompute(e * p.roundCompute(p.roundCompute(tv[k] - iv[k]) + 1.0)) * g);
    }
    return Emit.output(
        ctx,
        site,
        "kl_div.dtarget",
        Phase.BACKWARD,
        format,
        target.shape(),
        tv,
        dLoss,
        input,
        target);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var input, Var target) {
    Tensor loss = forward(ctx, site, p, input.value(), target.value());
    return tape.record(
        "kl_div@" + site,
        loss,
        (dl, needs) ->
            new Tensor[] {
              needs[0] ? backwardInput(ctx, site, p, dl, target.value(), input.gradFormat()) : null,
              needs[1]
                  ? backwardTarget(
                      ctx, site, p, dl, input.value(), target.value(), target.gradFormat())
                  : null
            },
        input,
        target);
  }
}
