package io.nanscope.engine.lanes;

/**
 * The two 16-bit formats the lane kernels encode, decode and round to, IEEE-like (bias {@code
 * 2^(e-1) - 1}, gradual underflow, all-ones exponent for inf/NaN), and the FP32 bit patterns that
 * bound their rounding cases. This is where FP16's and BF16's widths are written down: {@code
 * FloatFormat.FP16} and {@code FloatFormat.BF16} are built from {@link #FP16} and {@link #BF16},
 * and {@link RoundingKernels} takes its thresholds from the methods below, so the rule
 * (nearest-even on the dropped FP32 bits, overflow at maxFinite + ulp/2, one canonical quiet NaN)
 * has one set of numbers.
 *
 * @param precisionBits p, the hidden bit included
 * @param exponentBits e
 */
public record Binary16(String name, int precisionBits, int exponentBits) implements BinaryLayout {

  /** IEEE binary16: p = 11, e = 5, max 65504. */
  public static final Binary16 FP16 = new Binary16("fp16", 11, 5);

  /** bfloat16: FP32's 8 exponent bits, p = 8. */
  public static final Binary16 BF16 = new Binary16("bf16", 8, 8);

  /** FP32's field widths (p = 24, e = 8, bias 127). */
  private static final int F32_P = 24;

  private static final int F32_BIAS = 127;

  public Binary16 {
    if (precisionBits + exponentBits != 16 || exponentBits > 8 || precisionBits < 2) {
      throw new IllegalArgumentException(
          "a 16-bit format needs p + e = 16 with e <= 8 and p >= 2, got p="
              + precisionBits
              + ", e="
              + exponentBits);
    }
  }

  /**
   * Whether {@code format} has this layout's field widths (the 16-bit formats have no variants).
   */
  public boolean matches(BinaryLayout format) {
    return format.precisionBits() == precisionBits && format.exponentBits() == exponentBits;
  }

  /** {@code 2^(e-1) - 1}. */
  public int bias() {
    return (1 << (exponentBits - 1)) - 1;
  }

  /** FP32 bits below the last significand bit of this format: 13 for FP16, 16 for BF16. */
  public int droppedBits() {
    return F32_P - precisionBits;
  }

  /** {@code (127 - bias) << 23}: subtracting it re-biases an FP32 exponent to this format's. */
  public int rebias() {
    return (F32_BIAS - bias()) << (F32_P - 1);
  }

  /** FP32 pattern of minNormal = 2^(1 - bias): below it a value is subnormal here. */
  public int minNormalBits() {
    return Float.floatToRawIntBits(Math.scalb(1f, 1 - bias()));
  }

  /**
   * FP32 pattern of maxFinite + ulp(maxFinite)/2 = (2 - 2^-p)·2^bias: from this magnitude on,
   * nearest-even overflows to infinity (65520 for FP16; above FP32's range for BF16, whose overflow
   * is the carry out of the largest binade).
   */
  public int overflowBits() {
    double limit = (2 - Math.scalb(1.0, -precisionBits)) * Math.scalb(1.0, bias());
    return limit > Float.MAX_VALUE ? 0x7F800000 : Float.floatToRawIntBits((float) limit);
  }

  /** +infinity: exponent all ones, significand zero (0x7C00 for FP16). */
  public int infBits() {
    return ((1 << exponentBits) - 1) << (precisionBits - 1);
  }

  /** The canonical quiet NaN: exponent all ones, top stored bit set, sign clear. */
  public short quietNaN() {
    int stored = precisionBits - 1;
    return (short) ((((1 << exponentBits) - 1) << stored) | (1 << (stored - 1)));
  }

  /**
   * FP32 pattern of 2^(emin - p + 24), the float whose ulp is this format's minSubnormal: adding it
   * to a magnitude below minNormal rounds that magnitude to a multiple of minSubnormal,
   * nearest-even (0.5f for FP16).
   */
  public int subnormalRounderBits() {
    return Float.floatToRawIntBits(Math.scalb(1f, (1 - bias()) - (precisionBits - 1) + F32_P - 1));
  }

  /** {@code 2^k - 1}, {@code k} = {@link #droppedBits()} - 1: the "below half" rounding addend. */
  public int belowHalf() {
    return (1 << (droppedBits() - 1)) - 1;
  }
}
