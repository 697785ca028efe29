/**
 * Tracer, Site names, TensorStats, first-non-finite detection, JSONL and .npy writers. Reads
 * tensors; never computes model math.
 *
 * <p>May import: java.base, engine.format, engine.tensor, engine.io, engine.simd (the stats
 * kernel).
 */
package io.nanscope.engine.trace;
