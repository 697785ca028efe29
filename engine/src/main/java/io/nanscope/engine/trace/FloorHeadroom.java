package io.nanscope.engine.trace;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.FormatInfo;

/**
 * Underflow on the same footing as overflow: how far a site's smallest non-zero |x| sits above the
 * bottom of a format's range, and how many of its values rounding flushed to zero or made
 * subnormal. Headroom measures the top ({@code log2(maxFinite / max|x|)}); floor headroom measures
 * the bottom: {@code log2(min|x|>0 / minSubnormal)} (binades before a value flushes to 0) and
 * {@code log2(min|x|>0 / minNormal)} (binades before it loses precision as a subnormal; negative
 * when the smallest value already is one). FP16's minSubnormal is 2^-24 ≈ 5.96e-8 and its minNormal
 * 2^-14 ≈ 6.10e-5.
 *
 * <p>The smallest non-zero value is the stored one, so at a 16-bit site it is never below the
 * format's minSubnormal: the values that were lost are counted in {@code flushed} instead (known
 * when the op kept its unrounded output). At an FP32 site a negative floor headroom in FP16 says
 * how far below FP16's range its smallest values lie.
 *
 * @param format the format the floor is measured against
 * @param toSubnormal {@code log2(min|x|>0 / format.minSubnormal)}; NaN when no value is non-zero
 * @param toNormal {@code log2(min|x|>0 / format.minNormal)}; NaN when no value is non-zero
 * @param flushed values non-zero before rounding and zero after, in the site's own format (-1 when
 *     the op kept no unrounded output)
 * @param subnormal stored values that are subnormal in the site's own format
 * @param nonZero values that were non-zero before rounding (stored non-zeros plus the flushed)
 */
public record FloorHeadroom(
    FloatFormat format,
    double toSubnormal,
    double toNormal,
    long flushed,
    long subnormal,
    long nonZero) {

  /** The floor headroom of a site's output stats in {@code format}. */
  public static FloorHeadroom of(TensorStats s, FloatFormat format) {
    FormatInfo info = format.info();
    double min = s.minAbsNonZero();
    double toSub = min > 0 ? log2(min / info.minSubnormal()) : Double.NaN;
    double toNorm = min > 0 ? log2(min / info.minNormal()) : Double.NaN;
    long flushed = s.hasUnrounded() ? s.underflow() : -1;
    long nonZero = s.count() - s.zero() + Math.max(0, flushed);
    return new FloorHeadroom(format, toSub, toNorm, flushed, s.subnormal(), nonZero);
  }

  /** The share of the non-zero values flushed to zero, in percent (NaN when unknown or none). */
  public double flushedPercent() {
    return flushed < 0 || nonZero == 0 ? Double.NaN : 100.0 * flushed / nonZero;
  }

  /** The share of the non-zero values stored as subnormals, in percent (NaN when none). */
  public double subnormalPercent() {
    return nonZero == 0 ? Double.NaN : 100.0 * subnormal / nonZero;
  }

  private static double log2(double x) {
    return Math.log(x) / Math.log(2);
  }
}
