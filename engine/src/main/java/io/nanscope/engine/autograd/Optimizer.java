package io.nanscope.engine.autograd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.trace.Tracer;
import java.util.List;

/**
 * Updates parameters in place from their gradients. The optimiser's state (Adam's moments, SGD's
 * momentum buffer) lives in a {@code stateFormat} given at construction, every state update rounded
 * to it; each parameter update is rounded to the parameter's own format. Updates are reported to
 * the tracer with {@link io.nanscope.engine.trace.Phase#OPTIMIZER}.
 */
public interface Optimizer {

  /** One step over {@code params}, reporting to {@code tracer}. */
  void step(List<ParamGrad> params, Tracer tracer);

  /** One step without tracing. */
  default void step(List<ParamGrad> params) {
    step(params, Tracer.NONE);
  }

  /** The format the optimiser state is stored and rounded in. */
  FloatFormat stateFormat();
}
