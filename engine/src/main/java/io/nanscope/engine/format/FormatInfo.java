package io.nanscope.engine.format;

/**
 * What a format can hold, with unambiguous names (no {@code eps}/{@code tiny}/{@code MIN_VALUE}).
 *
 * @param bits storage width in bits
 * @param precisionBits significand bits including the hidden bit (p): 11 for FP16, 8 for BF16
 * @param exponentBits exponent field width
 * @param maxFinite largest finite value (65504 for FP16)
 * @param minNormal smallest positive normal value, 2^(1-bias)
 * @param minSubnormal smallest positive subnormal value, 2^(1-bias-(p-1))
 * @param ulpOfOne distance from 1.0 to the next larger value, 2^(1-p)
 * @param hasInfinity whether the format encodes infinities (false for FP8 E4M3 "FN")
 */
public record FormatInfo(
    int bits,
    int precisionBits,
    int exponentBits,
    double maxFinite,
    double minNormal,
    double minSubnormal,
    double ulpOfOne,
    boolean hasInfinity) {}
