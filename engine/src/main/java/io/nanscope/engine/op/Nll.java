package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Negative log-likelihood with a mask, {@code L = −Σ_t m_t·logp[t, y_t] / Σ_t m_t} (PyTorch {@code
 * nll_loss(reduction="mean", ignore_index=…)}: masked rows neither count nor divide). A fully
 * masked input gives NaN (0/0), as PyTorch does.
 *
 * <p>Shapes: logp: (T, V) log-probabilities; targets: (T); mask: (T) or null (all rows count); L:
 * ().
 *
 * <p>Backward: {@code dLogp[t, y_t] = −m_t·dL/N} with {@code N = Σ_t m_t}; 0 elsewhere.
 */
public final class Nll {

  private Nll() {}

  static int count(boolean[] mask, int t) {
    if (mask == null) {
      return t;
    }
    int n = 0;
    for (boolean m : mask) {
      n += m ? 1 : 0;
    }
    return n;
  }

  private static void checkArgs(Site site, Tensor logp, int[] targets, boolean[] mask) {
    int t = Math.toIntExact(logp.shape().rows());
    int v = Math.toIntExact(logp.shape().cols());
    Emit.check(
        targets.length == t,
        "nll at " + site + ": " + targets.length + " targets for " + t + " rows");
    Emit.check(
        mask == null || mask.length == t,
        "nll at "
            + site
            + ": mask has "
            + (mask == null ? 0 : mask.length)
            + " entries for "
            + t
            + " rows");
    for (int r = 0; r < t; r++) {
      Emit.check(
          targets[r] >= 0 && targets[r] < v,
          "nll at "
              + site
              + ": target "
              + targets[r]
              + " in row "
              + r
              + " is outside [0, "
              + v
              + ")");
    }
  }

  public static Tensor forward(
      OpContext ctx, Site site, Precision p, Tensor logp, int[] targets, boolean[] mask) {
    checkArgs(site, logp, targets, mask);
    int v = Math.toIntExact(logp.shape().cols());
    double s = 0;
    for (int r = 0; r < targets.length; r++) {
      if (mask == null || mask[r]) {
        s = p.accumulate(s, logp.getDouble((long) r * v + targets[r]));
      }
    }
    double loss = p.roundCompute(-s / count(mask, targets.length));
    return Emit.output(ctx, site, "nll", Phase.FORWARD, p, Shape.of(), new double[] {loss}, logp);
  }

  public static Tensor backward(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dLoss,
      Shape logpShape,
      int[] targets,
      boolean[] mask,
      FloatFormat format) {
    int v = Math.toIntExact(logpShape.cols());
    double g = p.roundCompute(-dLoss.getDouble(0) / count(mask, targets.length));
    double[] d = new double[Math.toIntExact(logpShape.size())];
    for (int r = 0; r < targets.length; r++) {
      if (mask == null || mask[r]) {
        d[r * v + targets[r]] = g;
      }
    }
    return Emit.output(ctx, site, "nll.grad", Phase.BACKWARD, format, logpShape, d, dLoss);
  }

  public static Var apply(
      Tape tape, OpContext ctx, Site site, Precision p, Var logp, int[] targets, boolean[] mask) {
    int[] tg = targets.clone();
    boolean[] m = mask == null ? null : mask.clone();
    Tensor loss = forward(ctx, site, p, logp.value(), tg, m);
    return tape.record(
        "nll@" + site,
        loss,
        (dl, needs) ->
            new Tensor[] {
              backward(ctx, site, p, dl, logp.value().shape(), tg, m, logp.gradFormat())
            },
        logp);
  }
}
