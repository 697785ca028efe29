/**
 * Number formats: FloatFormat, FormatInfo, Rounding, overflow and subnormal rules, scalar and bulk rounding, classification. The ONE place where a rounding rule is defined.
 *
 * <p>May import: java.base, jdk.incubator.vector (through engine.simd only).
 */
package io.nanscope.engine.format;
