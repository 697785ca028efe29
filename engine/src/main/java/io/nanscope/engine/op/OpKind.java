package io.nanscope.engine.op;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The kinds of op a {@link PrecisionPolicy} assigns a {@link Precision} to. Config names are the
 * lower-case names with '-' ({@code attention-softmax}).
 */
public enum OpKind {
  /** Linear layers and other GEMMs: x·Wᵀ. */
  MATMUL,
  EMBEDDING,
  RMSNORM,
  ROPE,
  /** Attention scores q·kᵀ, scaling, masking and the weighted sum of values. */
  ATTENTION,
  /** The softmax inside attention (HF runs it in FP32: {@code softmax(..., dtype=float32)}). */
  ATTENTION_SOFTMAX,
  SILU,
  SWIGLU,
  ADD,
  MUL,
  SCALE,
  SOFTMAX,
  LOG_SOFTMAX,
  GATHER,
  /** NLL, cross-entropy and KL divergence. */
  LOSS,
  /** L2 norm. */
  NORM,
  /** Sum and mean. */
  SUM;

  /** The config name: {@code attention-softmax}. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Parses a config name ({@code rmsnorm}, {@code attention-softmax}, {@code log_softmax}). */
  public static OpKind parse(String name) {
    String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    for (OpKind k : values()) {
      if (k.name().equals(n)) {
        return k;
      }
    }
    throw new IllegalArgumentException(
        "unknown op kind '"
            + name
            + "': expected one of "
            + Arrays.stream(values()).map(OpKind::configName).collect(Collectors.joining(", ")));
  }
}
