/**
 * Shape (long-safe), Tensor (format + shape + storage, contiguous row-major) and storage over
 * MemorySegment (heap or memory-mapped). No math.
 *
 * <p>May import: java.base, engine.format.
 */
package io.nanscope.engine.tensor;
