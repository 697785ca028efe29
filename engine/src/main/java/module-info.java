/**
 * nanscope engine: number formats, tensors, SIMD kernels, ops with forward and backward, autograd,
 * tracing.
 */
module io.nanscope.engine {
  requires jdk.incubator.vector;
  requires ejml.ddense;
  requires ejml.core;

  exports io.nanscope.engine.format;
  exports io.nanscope.engine.tensor;
  exports io.nanscope.engine.op;
  exports io.nanscope.engine.autograd;
  exports io.nanscope.engine.trace;
  exports io.nanscope.engine.linalg;
  exports io.nanscope.engine.io;
// lanes, simd and parallel are internal: llama's FP32 decode step uses op.Fp32Rows
}
