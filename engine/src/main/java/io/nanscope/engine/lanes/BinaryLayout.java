package io.nanscope.engine.lanes;

/**
 * A binary floating-point format as the lane kernels see it: the widths of its two fields. {@code
 * engine.format}'s {@code FloatFormat} implements it, so a kernel of this bottom layer takes a
 * format without importing the package that defines formats (which imports this one).
 */
public interface BinaryLayout {

  /** Significand bits, the hidden bit included (p: 11 for FP16, 8 for BF16, 24 for FP32). */
  int precisionBits();

  /** Exponent bits (5 for FP16, 8 for BF16 and FP32). */
  int exponentBits();

  /** The format's name, for error messages. */
  String name();
}
