/** nanscope engine: number formats, tensors, SIMD kernels, ops with forward and backward, autograd, tracing. */
module io.nanscope.engine {
  requires jdk.incubator.vector;

  exports io.nanscope.engine.format;
  exports io.nanscope.engine.tensor;
  // exports io.nanscope.engine.op; (add when the package has classes)
  // exports io.nanscope.engine.autograd; (add when the package has classes)
  exports io.nanscope.engine.trace;
  // exports io.nanscope.engine.linalg; (add when the package has classes)
}
