/**
 * Number formats: FloatFormat, FormatInfo, Rounding, overflow and subnormal rules, scalar and bulk
 * rounding, classification. The ONE place where a rounding rule is defined.
 *
 * <p>May import: java.base, engine.simd (FloatFormat calls the FP16/BF16 rounding kernels, so
 * format and simd import each other today: issue #10 splits a bottom layer out of simd).
 */
package io.nanscope.engine.format;
