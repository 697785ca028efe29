package io.nanscope.engine.format;

/**
 * A binary floating-point format: its bits, its limits and its rounding. Every rounding rule of
 * nanscope is defined here and nowhere else.
 *
 * <p>{@link #round(float)} rounds to nearest, ties to even, overflowing to infinity (IEEE 754
 * roundTiesToEven), keeping subnormals and the sign of zero; NaN stays NaN.
 */
public final class FloatFormat {

  /** IEEE binary64: the reference format. */
  public static final FloatFormat FP64 = new FloatFormat("fp64", 64, 53, 11);
  /** IEEE binary32. */
  public static final FloatFormat FP32 = new FloatFormat("fp32", 32, 24, 8);
  /** IEEE binary16 (half): max 65504. */
  public static final FloatFormat FP16 = new FloatFormat("fp16", 16, 11, 5);
  /** bfloat16: FP32's exponent range with 8 significand bits. */
  public static final FloatFormat BF16 = new FloatFormat("bf16", 16, 8, 8);

  private final String name;
  private final FormatInfo info;

  private FloatFormat(String name, int bits, int precisionBits, int exponentBits) {
    this.name = name;
    int bias = (1 << (exponentBits - 1)) - 1;
    double maxFinite = (2 - Math.scalb(1.0, 1 - precisionBits)) * Math.scalb(1.0, bias);
    this.info =
        new FormatInfo(
            bits,
            precisionBits,
            exponentBits,
            maxFinite,
            Math.scalb(1.0, 1 - bias),
            Math.scalb(1.0, 1 - bias - (precisionBits - 1)),
            Math.scalb(1.0, 1 - precisionBits),
            true);
  }

  public String name() {
    return name;
  }

  public FormatInfo info() {
    return info;
  }

  /** Storage bytes per element. */
  public int bytes() {
    return info.bits() / 8;
  }

  /** Rounds {@code x} to this format (nearest-even, IEEE overflow to infinity). */
  public float round(float x) {
    if (this == FP16) {
      return Float.float16ToFloat(Float.floatToFloat16(x));
    }
    if (this == BF16) {
      return decodeBf16(encodeBf16(x));
    }
    return x;
  }

  /** Encodes {@code x}, rounded nearest-even, as a 16-bit pattern (FP16 or BF16 only). */
  public short encode16(float x) {
    if (this == FP16) {
      return Float.floatToFloat16(x);
    }
    if (this == BF16) {
      return encodeBf16(x);
    }
    throw new IllegalStateException(name + " is not a 16-bit format");
  }

  /** Decodes a 16-bit pattern of this format (FP16 or BF16 only). */
  public float decode16(short bits) {
    if (this == FP16) {
      return Float.float16ToFloat(bits);
    }
    if (this == BF16) {
      return decodeBf16(bits);
    }
    throw new IllegalStateException(name + " is not a 16-bit format");
  }

  private static short encodeBf16(float x) {
    int b = Float.floatToRawIntBits(x);
    if (Float.isNaN(x)) {
      return (short) ((b >>> 16) | 0x0040); // quiet NaN, sign kept
    }
    // Round to nearest even on the low 16 bits; a carry into the exponent gives the right
    // next binade, and one out of the largest binade gives infinity.
    int rounded = b + 0x7FFF + ((b >>> 16) & 1);
    return (short) (rounded >>> 16);
  }

  private static float decodeBf16(short bits) {
    return Float.intBitsToFloat((bits & 0xFFFF) << 16);
  }

  @Override
  public String toString() {
    return name;
  }
}
