/**
 * The bottom layer: Vector API lane primitives (fixed-order dot and sum, max, axpy, exp, 16-bit
 * decode) and the raw FP16/BF16 bit kernels (encode, decode, round in place), each with a scalar
 * twin; Binary16 writes down the two 16-bit formats' widths and the thresholds derived from them.
 * Imports nothing of ours: engine.format builds FP16 and BF16 on it and engine.simd's kernels call
 * it, never the reverse. Not exported.
 *
 * <p>May import: java.base, jdk.incubator.vector.
 */
package io.nanscope.engine.lanes;
