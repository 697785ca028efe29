package io.nanscope.llama.model;

import io.nanscope.engine.autograd.Var;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@link LlamaModel#forward} returns: the logits on the tape and the values the {@link Hooks}
 * captured.
 */
public final class SequenceOutput {

  private final Var logits;
  private final int rows;
  private final int length;
  private final Map<String, float[]> captured;

  SequenceOutput(Var logits, int rows, int length, Map<String, float[]> captured) {
    this.logits = logits;
    this.rows = rows;
    this.length = length;
    this.captured = new TreeMap<>(captured);
  }

  /**
   * Logits (B·T, V) in FP32 (HF upcasts them: {@code logits.float()}), row {@code b·T + t} for row
   * b, position t; padding positions hold finite values to ignore.
   */
  public Var logits() {
    return logits;
  }

  /** B. */
  public int rows() {
    return rows;
  }

  /** T, the padded length. */
  public int length() {
    return length;
  }

  /** The logits of row b at position t (V values, a copy). */
  public float[] logitsAt(int b, int t) {
    if (b < 0 || b >= rows || t < 0 || t >= length) {
      throw new IllegalArgumentException(
          "position ("
              + b
              + ", "
              + t
              + ") is outside the batch of "
              + rows
              + " rows of length "
              + length);
    }
    int v = Math.toIntExact(logits.value().shape().cols());
    float[] out = new float[v];
    long base = ((long) b * length + t) * v;
    for (int i = 0; i < v; i++) {
      out[i] = logits.value().get(base + i);
    }
    return out;
  }

  /**
   * A value captured by a hook, decoded to FP32 (exact: it is stored in a format of at most FP32
   * precision). Keys: {@code layers.L.mlp.down_proj.input@b,t}, {@code layers.L.mlp@b,t}, {@code
   * layers.L@b,t} (see {@link Hooks#downProjInputKey} and its siblings).
   */
  public float[] captured(String key) {
    float[] v = captured.get(key);
    if (v == null) {
      throw new IllegalArgumentException(
          "nothing was captured under '" + key + "': captured keys are " + captured.keySet());
    }
    return v.clone();
  }

  /** Every capture key, sorted. */
  public java.util.Set<String> capturedKeys() {
    return java.util.Collections.unmodifiableSet(captured.keySet());
  }
}
