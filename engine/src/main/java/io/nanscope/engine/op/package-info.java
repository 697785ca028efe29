/**
 * One class per operation with forward and backward side by side; each takes a Precision, and
 * PrecisionPolicy says which Precision each op kind and site runs in.
 *
 * <p>May import: java.base, engine.format, engine.tensor, engine.simd, engine.parallel,
 * engine.autograd, engine.trace.
 */
package io.nanscope.engine.op;
