package io.nanscope.engine.format;

/** Whether results below {@code minNormal} are kept as subnormals or flushed to (signed) zero. */
public enum Subnormals {
  /** Gradual underflow, IEEE 754. */
  KEEP,
  /**
   * Flush to zero after rounding: a result whose rounded magnitude is below minNormal becomes ±0
   * (what chop and CPFloat do with {@code subnormal = 0}, the default there for bfloat16).
   */
  FLUSH
}
