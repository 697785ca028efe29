/**
 * Number formats: FloatFormat, FormatInfo, Rounding, overflow and subnormal rules, scalar and bulk
 * rounding, classification. The ONE place where a rounding rule is defined: FP16 and BF16 are built
 * from engine.lanes' Binary16 and round in bulk with its bit kernels, whose thresholds it derives.
 *
 * <p>May import: java.base, engine.lanes.
 */
package io.nanscope.engine.format;
