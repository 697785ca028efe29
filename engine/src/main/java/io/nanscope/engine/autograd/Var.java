package io.nanscope.engine.autograd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.StorageKind;
import io.nanscope.engine.tensor.Tensor;

/**
 * A value on a {@link Tape}: its tensor, whether a gradient flows to it, and the gradient once
 * {@link Tape#backward} has run. The gradient is stored in {@link #gradFormat()} (by default the
 * value's own format, as PyTorch does) and every accumulation into it is rounded to that format.
 */
public final class Var {

  private final Tensor value;
  private final boolean requiresGrad;
  private final FloatFormat gradFormat;
  private final String name;
  private Tensor grad;

  Var(Tensor value, boolean requiresGrad, FloatFormat gradFormat, String name) {
    this.value = value;
    this.requiresGrad = requiresGrad;
    this.gradFormat = gradFormat;
    this.name = name;
  }

  /** The value, as stored. */
  public Tensor value() {
    return value;
  }

  /** Whether a gradient flows to this value (it asked for one, or depends on one that did). */
  public boolean requiresGrad() {
    return requiresGrad;
  }

  /** The format the gradient is stored and rounded in. */
  public FloatFormat gradFormat() {
    return gradFormat;
  }

  /** The op that produced it, or the leaf's name. */
  public String name() {
    return name;
  }

  /** dLoss/dThis after {@link Tape#backward}, or null if none reached it (or it needs none). */
  public Tensor grad() {
    return grad;
  }

  /**
   * Accumulates {@code g} into the gradient: {@code grad += g}, rounded to {@link #gradFormat()}.
   */
  void accumulate(Tensor g) {
    if (!g.shape().equals(value.shape())) {
      throw new IllegalStateException(
          "gradient of shape "
              + g.shape()
              + " for '"
              + name
              + "' of shape "
              + value.shape()
              + ": the backward of the op that consumed it is wrong");
    }
    if (grad == null) {
      grad = g.format() == gradFormat ? g : g.to(gradFormat);
      return;
    }
    if (gradFormat == FloatFormat.FP32
        && grad.storageKind() == StorageKind.F32
        && g.storageKind() != StorageKind.F64
        && grad.size() <= Integer.MAX_VALUE) {
      // Both are floats: the double sum rounded to FP32 (below) is the float sum, since double
      // rounding of a sum through 53 bits to 24 is innocuous (53 >= 2*24 + 2); copyFrom stores
      // each as set(i, f) does, NaN made canonical. The same bits, in bulk.
      float[] a = grad.toFloatArray();
      float[] b = g.toFloatArray();
      for (int i = 0; i < a.length; i++) {
        a[i] += b[i];
      }
      grad.copyFrom(a);
      return;
    }
    for (long i = 0; i < grad.size(); i++) {
      // Two values of at most FP32 precision: their double sum rounded through FP32 to the grad
      // format is correctly rounded (53 >= 2*24+2, 24 >= 2*11+2).
      grad.setDouble(i, grad.getDouble(i) + g.getDouble(i));
    }
  }

  void clearGrad() {
    grad = null;
  }

  @Override
  public String toString() {
    return "Var[" + name + " " + value + (requiresGrad ? " grad " + gradFormat : "") + "]";
  }
}
