/**
 * The only Vector API code: lane primitives (dot, axpy, GEMM micro-kernel, exp, max, fixed-order
 * sum, 16-bit decode, round-to-format) with static final species and scalar twins. Not exported.
 *
 * <p>May import: java.base, jdk.incubator.vector, engine.format, engine.tensor, engine.parallel
 * (written as the code is today: GemmKernel splits its blocks with WorkSplit).
 */
package io.nanscope.engine.simd;
