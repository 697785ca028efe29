package io.nanscope.engine.autograd;

import io.nanscope.engine.tensor.Tensor;

/**
 * The backward of one recorded op: maps dLoss/dOutput to dLoss/dInput for the inputs that need it.
 */
@FunctionalInterface
public interface Backward {

  /**
   * @param gradOutput dLoss/dOutput, in the output's gradient format
   * @param needsGrad per input, whether its gradient is wanted (skip the work where false)
   * @return per input, dLoss/dInput with the input's shape (null where not wanted), ideally already
   *     rounded to that input's {@link Var#gradFormat()}
   */
  Tensor[] apply(Tensor gradOutput, boolean[] needsGrad);
}
