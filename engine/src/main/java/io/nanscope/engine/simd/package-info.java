/**
 * The kernels that know formats and tensors: GEMM and matvec over FP32/FP16/BF16 storage, the
 * op-facing kernel entry points, element-wise and statistics kernels. Built on engine.lanes. Not
 * exported: callers above the engine use engine.op (Fp32Rows for a float decode step).
 *
 * <p>May import: java.base, jdk.incubator.vector, engine.lanes, engine.format, engine.tensor,
 * engine.parallel (GemmKernel and LaneSplitGemm split their blocks with WorkSplit).
 */
package io.nanscope.engine.simd;
