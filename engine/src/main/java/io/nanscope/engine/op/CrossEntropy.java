package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;

/**
 * Cross-entropy with a mask, {@code L = nll(log_softmax(z), y, m)} (PyTorch {@code cross_entropy}),
 * composed from {@link LogSoftmax} and {@link Nll} so that each step is traced and rounded as its
 * own op (the way PyTorch runs it: log-softmax materialised, then NLL).
 *
 * <p>Shapes: z (logits): (T, V); targets, mask: (T); L: ().
 *
 * <p>Backward: the chain of the two, {@code dZ = LogSoftmax.backward(Nll.backward(dL))}, which
 * equals {@code (softmax(z) − onehot(y))·m_t·dL/N}.
 */
public final class CrossEntropy {

  private CrossEntropy() {}

  /** The loss and the log-probabilities backward reads. */
  public record Forward(Tensor loss, Tensor logp) {}

  public static Forward forward(
      OpContext ctx, Site site, Precision p, Tensor logits, int[] targets, boolean[] mask) {
    Tensor logp = LogSoftmax.forward(ctx, site.child("log_softmax"), p, logits);
    return new Forward(Nll.forward(ctx, site, p, logp, targets, mask), logp);
  }

  /** dZ from dL, rounded to {@code format}. */
  public static Tensor backward(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dLoss,
      Tensor logp,
      int[] targets,
      boolean[] mask,
      FloatFormat format) {
    Tensor dLogp = Nll.backward(ctx, site, p, dLoss, logp.shape(), targets, mask, logp.format());
    return LogSoftmax.backward(ctx, site.child("log_softmax"), p, dLogp, logp, format);
  }

  public static Var apply(
      Tape tape, OpContext ctx, Site site, Precision p, Var logits, int[] targets, boolean[] mask) {
    Var logp = LogSoftmax.apply(tape, ctx, site.child("log_softmax"), p, logits);
    return Nll.apply(tape, ctx, site, p, logp, targets, mask);
  }
}
