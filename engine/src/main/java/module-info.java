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
  exports io.nanscope.engine.simd to
      io.nanscope.llama; // the FP32 decode step calls Kernels directly
  exports io.nanscope.engine.parallel to
      io.nanscope.llama; // the decode step's matvec split
}
