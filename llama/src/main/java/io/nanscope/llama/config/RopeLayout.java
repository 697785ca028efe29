package io.nanscope.llama.config;

/**
 * How the rows of {@code wq} and {@code wk} pair up for rotary position embedding (RoPE), i.e.
 * which RoPE variant the weights expect. The two are the same model up to a row permutation within
 * each head (see {@code io.nanscope.llama.weights.RopePermutation}).
 */
public enum RopeLayout {
  /** Meta / llama2.c: dimensions {@code (2i, 2i+1)} of a head rotate together. */
  META_INTERLEAVED,
  /**
   * Hugging Face {@code rotate_half}: dimensions {@code (i, i + D/2)} of a head rotate together.
   */
  HF_ROTATE_HALF
}
