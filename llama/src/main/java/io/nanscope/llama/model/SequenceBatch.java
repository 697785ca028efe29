package io.nanscope.llama.model;

import java.util.Arrays;

/**
 * A batch of token sequences for {@link LlamaModel#forward}, right-padded to the longest row: row b
 * holds {@code tokens[b].length} real tokens at positions 0…len−1; positions len…T−1 are padding.
 * The attention mask is causal and hides padding keys, so a real token never sees padding (right
 * padding with a causal mask is exactly the unpadded computation); a padding query sees the row's
 * real keys only and produces finite logits that callers ignore.
 *
 * <p>Shapes: B = {@link #rows()}, T = {@link #length()}; flattened row index {@code b·T + t}.
 *
 * @param tokens B rows of token ids (each row non-empty; rows may differ in length)
 */
public record SequenceBatch(int[][] tokens) {

  public SequenceBatch {
    if (tokens == null || tokens.length == 0) {
      throw new IllegalArgumentException("a sequence batch needs at least one row of tokens");
    }
    int[][] copy = new int[tokens.length][];
    for (int b = 0; b < tokens.length; b++) {
      if (tokens[b] == null || tokens[b].length == 0) {
        throw new IllegalArgumentException(
            "row "
                + b
                + " of the sequence batch is empty: every row needs at least one token (BOS)");
      }
      copy[b] = tokens[b].clone();
    }
    tokens = copy;
  }

  /** A batch of one sequence. */
  public static SequenceBatch of(int... tokens) {
    return new SequenceBatch(new int[][] {tokens});
  }

  /** B, the number of rows. */
  public int rows() {
    return tokens.length;
  }

  /** T, the padded length (the longest row). */
  public int length() {
    int t = 0;
    for (int[] row : tokens) {
      t = Math.max(t, row.length);
    }
    return t;
  }

  /** The number of real tokens of row {@code b}. */
  public int length(int b) {
    return tokens[b].length;
  }

  /** Row {@code b}'s tokens (a copy). */
  public int[] row(int b) {
    return tokens[b].clone();
  }

  /** The B·T token ids row-major, padding positions filled with {@code pad}. */
  int[] flatTokens(int pad) {
    int t = length();
    int[] out = new int[Math.multiplyExact(rows(), t)];
    Arrays.fill(out, pad);
    for (int b = 0; b < tokens.length; b++) {
      System.arraycopy(tokens[b], 0, out, b * t, tokens[b].length);
    }
    return out;
  }

  /** The B·T positions row-major: 0…T−1 for every row (padding keeps counting). */
  int[] flatPositions() {
    int t = length();
    int[] out = new int[Math.multiplyExact(rows(), t)];
    for (int i = 0; i < out.length; i++) {
      out[i] = i % t;
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SequenceBatch s && Arrays.deepEquals(tokens, s.tokens);
  }

  @Override
  public int hashCode() {
    return Arrays.deepHashCode(tokens);
  }

  @Override
  public String toString() {
    return "SequenceBatch" + Arrays.deepToString(tokens);
  }
}
