package io.nanscope.engine.autograd;

import io.nanscope.engine.tensor.Tensor;
import java.util.Objects;

/**
 * A parameter and its gradient, as an optimiser steps them; {@code name} keys the optimiser state
 * across steps and names the trace site ({@code adam.delta} for a parameter named {@code delta}).
 */
public record ParamGrad(String name, Tensor param, Tensor grad) {

  public ParamGrad {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(param, "param");
    Objects.requireNonNull(grad, "grad");
    if (name.isBlank()) {
      throw new IllegalArgumentException("a parameter needs a non-blank name (it keys the state)");
    }
    if (!param.shape().equals(grad.shape())) {
      throw new IllegalArgumentException(
          "parameter '"
              + name
              + "' has shape "
              + param.shape()
              + " but its gradient "
              + grad.shape()
              + ": they must match element for element");
    }
  }
}
