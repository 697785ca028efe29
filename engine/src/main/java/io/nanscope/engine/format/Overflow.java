package io.nanscope.engine.format;

/** What a finite value whose rounded magnitude exceeds {@code maxFinite} becomes. */
public enum Overflow {
  /**
   * IEEE 754 §7.4: nearest and stochastic rounding give ±infinity (NaN in formats without infinity,
   * e.g. FP8 E4M3FN); a directed rounding toward zero from that side gives ±maxFinite.
   */
  IEEE,
  /** Clamp to ±maxFinite (what QPyTorch and NVIDIA's {@code __NV_SATFINITE} FP8 casts do). */
  SATURATE
}
