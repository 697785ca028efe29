package io.nanscope.llama.model;

/**
 * Decode mode of one sequence with a KV cache (llama2.c's {@code forward(transformer, token,
 * pos)}): each call feeds the token at the next position and returns the logits predicting the
 * token after it.
 */
public interface DecodeSession {

  /**
   * Feeds {@code token} at {@link #position()} and returns its logits (V) in FP32; advances by one.
   */
  float[] next(int token);

  /** The position the next token will take (the number of tokens fed so far). */
  int position();
}
