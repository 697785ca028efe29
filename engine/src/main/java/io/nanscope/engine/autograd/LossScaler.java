package io.nanscope.engine.autograd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Tracer;
import java.util.List;

/**
 * Dynamic loss scaling with the semantics of PyTorch's {@code torch.amp.GradScaler}: the loss is
 * multiplied by a scale S before backward so small gradients survive FP16's underflow; the
 * gradients are multiplied back by {@code inv = float(1 / double(S))} (PyTorch's {@code
 * S.double().reciprocal().float()}); a step whose scaled gradients hold inf/NaN is skipped.
 *
 * <p>Per iteration: {@link #scaleLoss}, backward, optionally {@link #unscale} (to clip), then
 * {@link #step} (unscales if not done, skips the optimiser on inf/NaN), then {@link #update}:
 *
 * <ul>
 *   <li>inf/NaN found: {@code S = float(S · backoff)} (×0.5), growth tracker reset to 0;
 *   <li>otherwise the tracker counts finite steps; at {@code growthInterval} (2000) it resets and
 *       {@code S = float(S · growth)} (×2) unless that would be inf in FP32, in which case S stays.
 * </ul>
 *
 * S is an FP32 value starting at 2^16. As in PyTorch, FP16 gradients are refused unless {@code
 * allowFp16Gradients}: GradScaler needs FP32 master gradients, which is why it cannot rescue a
 * model loaded in FP16 and edited in place.
 */
public final class LossScaler {

  private float scale;
  private final double growthFactor;
  private final double backoffFactor;
  private final int growthInterval;
  private final boolean allowFp16Gradients;
  private int growthTracker;
  private boolean unscaled; // unscale() ran since the last update()
  private boolean checked; // an inf check was recorded since the last update()
  private boolean foundInf;
  private long skippedSteps;

  /**
   * PyTorch's defaults: init scale 2^16, growth ×2, backoff ×0.5, interval 2000, FP32 grads only.
   */
  public LossScaler() {
    this(65536f, 2.0, 0.5, 2000, false);
  }

  public LossScaler(
      float initScale,
      double growthFactor,
      double backoffFactor,
      int growthInterval,
      boolean allowFp16Gradients) {
    if (!(initScale > 0) || Float.isInfinite(initScale)) {
      throw new IllegalArgumentException(
          "the initial scale must be finite and > 0, got " + initScale);
    }
    if (!(growthFactor > 1.0)) {
      throw new IllegalArgumentException("The growth factor must be > 1.0, got " + growthFactor);
    }
    if (!(backoffFactor < 1.0 && backoffFactor > 0)) {
      throw new IllegalArgumentException(
          "The backoff factor must be < 1.0 (and > 0), got " + backoffFactor);
    }
    if (growthInterval <= 0) {
      throw new IllegalArgumentException(
          "growth_interval must be a positive integer, got " + growthInterval);
    }
    this.scale = initScale;
    this.growthFactor = growthFactor;
    this.backoffFactor = backoffFactor;
    this.growthInterval = growthInterval;
    this.allowFp16Gradients = allowFp16Gradients;
  }

  /** The current scale S. */
  public float scale() {
    return scale;
  }

  /** {@code loss · S} in FP32 (PyTorch promotes the loss to the FP32 scale tensor's type). */
  public float scaleLoss(float loss) {
    return loss * scale;
  }

  /** {@code float(1 / double(S))}, the factor the gradients are multiplied by. */
  public float inverseScale() {
    return (float) (1.0 / (double) scale);
  }

  /** Consecutive finite steps since the last growth or backoff. */
  public int growthTracker() {
    return growthTracker;
  }

  /** Whether the current iteration's gradients held inf/NaN (valid after unscale or step). */
  public boolean foundInf() {
    return foundInf;
  }

  /** Steps skipped so far because of inf/NaN gradients. */
  public long skippedSteps() {
    return skippedSteps;
  }

  /**
   * Multiplies every gradient in place by {@link #inverseScale()} (computed in FP32, rounded to the
   * gradient's format) and records whether any SCALED gradient was inf or NaN (checked before the
   * multiplication, like {@code _amp_foreach_non_finite_check_and_unscale_}). At most once per
   * iteration. Returns whether inf/NaN was found.
   */
  public boolean unscale(List<ParamGrad> params) {
    if (unscaled) {
      throw new IllegalStateException(
          "unscale() has already been called since the last update(): call it at most once per"
              + " step");
    }
    for (ParamGrad pg : params) {
      ElementwiseOptimizer.requireRoundable(
          pg.grad().format(), "the gradient of '" + pg.name() + "'");
      if (pg.grad().format() == FloatFormat.FP16 && !allowFp16Gradients) {
        throw new IllegalArgumentException(
            "Attempting to unscale FP16 gradients ('"
                + pg.name()
                + "'): like PyTorch's GradScaler,"
                + " loss scaling needs FP32 master gradients; keep an FP32 copy of the parameters,"
                + " or construct the LossScaler with allowFp16Gradients = true to simulate anyway");
      }
    }
    float inv = inverseScale();
    boolean found = false;
    for (ParamGrad pg : params) {
      Tensor g = Adam.flat(pg.grad());
      long n = g.size();
      for (long from = 0; from < n; from += 4096) { // blocks: decode, check, scale, round once
        Tensor gv = g.slice(from, Math.min(n, from + 4096));
        float[] v = gv.toFloatArray();
        for (float x : v) {
          if (!Float.isFinite(x)) {
            found = true;
          }
        }
        if (inv != 1f) {
          for (int k = 0; k < v.length; k++) {
            v[k] = v[k] * inv;
          }
        }
        gv.copyFrom(v);
      }
    }
    unscaled = true;
    checked = true;
    foundInf = found;
    return found;
  }

  /**
   * Unscales if {@link #unscale} was not called this iteration, then runs {@code optimizer} unless
   * inf/NaN was found. Returns whether the optimiser stepped.
   */
  public boolean step(Optimizer optimizer, List<ParamGrad> params, Tracer tracer) {
    if (!unscaled) {
      unscale(params);
    }
    if (foundInf) {
      skippedSteps++;
      return false;
    }
    optimizer.step(params, tracer);
    return true;
  }

  /** Adjusts the scale for the next iteration from this one's inf check (see the class comment). */
  public void update() {
    if (!checked) {
      throw new IllegalStateException(
          "No inf checks were recorded prior to update(): call step() or unscale() first");
    }
    if (foundInf) {
      scale = (float) (scale * backoffFactor);
      growthTracker = 0;
    } else {
      int successful = growthTracker + 1;
      if (successful == growthInterval) {
        float grown = (float) (scale * growthFactor);
        if (Float.isFinite(grown)) {
          scale = grown;
        }
        growthTracker = 0;
      } else {
        growthTracker = successful;
      }
    }
    unscaled = false;
    checked = false;
    foundInf = false;
  }
}
