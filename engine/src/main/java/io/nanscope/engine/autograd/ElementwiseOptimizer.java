package io.nanscope.engine.autograd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.trace.Tracer;
import java.util.List;

/**
 * What Adam and SGD share: a state format, parameters stepped one at a time and element by element
 * (no element sees another), state keyed by the parameter's name.
 */
abstract sealed class ElementwiseOptimizer implements Optimizer permits Adam, Sgd {

  private final FloatFormat stateFormat;

  ElementwiseOptimizer(FloatFormat stateFormat, String name) {
    this.stateFormat = requireRoundable(stateFormat, "the " + name + " state format");
  }

  @Override
  public final FloatFormat stateFormat() {
    return stateFormat;
  }

  @Override
  public final void step(List<ParamGrad> params, Tracer tracer) {
    for (ParamGrad pg : params) {
      requireRoundable(pg.param().format(), "parameter '" + pg.name() + "'");
      requireRoundable(pg.grad().format(), "the gradient of '" + pg.name() + "'");
      step(pg, tracer);
    }
  }

  /** One parameter's update. */
  abstract void step(ParamGrad pg, Tracer tracer);

  /** Fails when a named parameter changed shape since its state was created. */
  static void requireSameShape(ParamGrad pg, Shape stateShape) {
    if (!stateShape.equals(pg.param().shape())) {
      throw new IllegalArgumentException(
          "parameter '"
              + pg.name()
              + "' was "
              + stateShape
              + " at the previous step and is "
              + pg.param().shape()
              + " now: give each parameter a stable name and shape");
    }
  }

  /**
   * The formats state, parameters and gradients may be in: those whose every value is an FP32 value
   * (FP32, TF32, BF16, FP16, FP8, narrower customs), since the kernels compute in FP32.
   */
  static FloatFormat requireRoundable(FloatFormat f, String what) {
    if (f.info().precisionBits() > 24 || f.info().exponentBits() > 8) {
      throw new IllegalArgumentException(
          what
              + " must be a format no wider than fp32 (fp32, tf32, bf16, fp16, fp8-…), got "
              + f.name()
              + " (an FP64 reference belongs in a test, written separately)");
    }
    return f;
  }
}
