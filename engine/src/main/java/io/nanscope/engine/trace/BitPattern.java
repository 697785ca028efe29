package io.nanscope.engine.trace;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.StorageKind;
import io.nanscope.engine.tensor.Tensor;
import java.lang.foreign.ValueLayout;

/**
 * The stored bits of one tensor element, as its storage holds them (NaN payloads kept): FP16/BF16
 * as 16 bits, FP32 (and formats stored as FP32 values, e.g. TF32) as 32, FP64 as 64.
 *
 * @param width number of bits
 * @param exponentBits width of the exponent field in this layout
 * @param bits the pattern, right-aligned
 */
public record BitPattern(int width, int exponentBits, long bits) {

  /** The stored bits of element {@code i} of {@code t}. */
  public static BitPattern of(Tensor t, long i) {
    FloatFormat f = t.format();
    StorageKind kind = t.storageKind();
    return switch (kind) {
      case F64 ->
          new BitPattern(
              64,
              11,
              Double.doubleToRawLongBits(
                  t.segment().getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i)));
      case F32 ->
          new BitPattern(
              32,
              8,
              Float.floatToRawIntBits(t.segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i))
                  & 0xFFFF_FFFFL);
      case BITS16 ->
          new BitPattern(
              16,
              f.info().exponentBits(),
              t.segment().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) & 0xFFFFL);
      case BITS8 ->
          new BitPattern(
              8, f.info().exponentBits(), t.segment().get(ValueLayout.JAVA_BYTE, i) & 0xFFL);
    };
  }

  /** {@code 0x7c00} for FP16 +inf: lower-case hex, zero-padded to the width. */
  public String hex() {
    return String.format("0x%0" + (width / 4) + "x", bits);
  }

  /** Sign, exponent and mantissa fields separated by spaces: {@code 0 11111 0000000000}. */
  public String fields() {
    StringBuilder b = new StringBuilder(width + 2);
    for (int k = width - 1; k >= 0; k--) {
      b.append((bits >>> k) & 1);
      int pos = width - 1 - k; // 0 = sign bit
      if (pos == 0 || pos == exponentBits) {
        b.append(' ');
      }
    }
    return b.toString();
  }
}
