package io.nanscope.engine.autograd;

import io.nanscope.engine.format.FloatFormat;

/** The formats optimiser state, parameters and gradients may be in: those {@code round} defines. */
final class Roundable {

  private Roundable() {}

  static FloatFormat require(FloatFormat f, String what) {
    if (f != FloatFormat.FP32 && f != FloatFormat.FP16 && f != FloatFormat.BF16) {
      throw new IllegalArgumentException(
          what + " must be fp32, fp16 or bf16, got " + f.name()
              + " (an FP64 reference belongs in a test, written separately)");
    }
    return f;
  }
}
