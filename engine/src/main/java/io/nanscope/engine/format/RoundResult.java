package io.nanscope.engine.format;

/**
 * One value rounded to a format, with what happened to it: for the {@code round} command and the
 * tracer.
 *
 * @param input the exact input
 * @param value the rounded value (a value of {@code format}, widened exactly to double)
 * @param bits the encoding of {@code value} in {@code format}, right-aligned (sign | exponent |
 *     mantissa, {@code format.info().bits()} wide)
 * @param valueClass the class of the rounded value in {@code format}
 * @param overflow the input was finite and its rounded magnitude exceeded maxFinite, so the result
 *     became ±inf (NaN for formats without infinity) or was clamped to ±maxFinite (IEEE 754 §7.4)
 * @param underflow the input was finite and non-zero and the result is ±0
 */
public record RoundResult(
    double input,
    double value,
    long bits,
    ValueClass valueClass,
    boolean overflow,
    boolean underflow) {}
