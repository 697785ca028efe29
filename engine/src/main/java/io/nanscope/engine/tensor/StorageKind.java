package io.nanscope.engine.tensor;

import io.nanscope.engine.format.FloatFormat;
import java.lang.foreign.ValueLayout;

/**
 * How a format's values are laid out in memory. FP64 and FP32 are stored natively; FP16 and BF16 as
 * their 16-bit patterns; 8-bit formats as bytes; any other format (TF32, custom) as FP32 values
 * that have already been rounded to the format.
 */
public enum StorageKind {
  F64(ValueLayout.JAVA_DOUBLE_UNALIGNED),
  F32(ValueLayout.JAVA_FLOAT_UNALIGNED),
  BITS16(ValueLayout.JAVA_SHORT_UNALIGNED),
  BITS8(ValueLayout.JAVA_BYTE);

  private final ValueLayout layout;

  StorageKind(ValueLayout layout) {
    this.layout = layout;
  }

  /** Little-endian element layout (safetensors and llama2.c files are little-endian, like x86). */
  public ValueLayout layout() {
    return layout;
  }

  public int bytes() {
    return (int) layout.byteSize();
  }

  public static StorageKind of(FloatFormat format) {
    if (format == FloatFormat.FP64) {
      return F64;
    }
    return switch (format.info().bits()) {
      case 16 -> BITS16;
      case 8 -> BITS8;
      default -> F32;
    };
  }
}
