package io.nanscope.engine.trace;

/**
 * What the rows of a forward pass's activations are, so a report can name the token of an offending
 * element: flat row r of the (N, ·) activations (N = B·T, batch rows one after the other) holds
 * token {@code tokens[r]} at position {@code positions[r]} of batch row {@code r / rowLength}. A
 * decode step is one row (N = 1) at its position. The model announces this through {@link
 * Tracer#rows} before each pass; records that follow (forward, and the backward of that pass) are
 * read against it.
 *
 * @param tokens the token id of each flat row (N)
 * @param positions the position of each flat row in its sequence (N)
 * @param rowLength T, the length of one batch row (1 in decode mode)
 */
public record TokenRows(int[] tokens, int[] positions, int rowLength) {

  public TokenRows {
    if (tokens.length != positions.length || rowLength < 1) {
      throw new IllegalArgumentException(
          "token rows need one position per token and a row length >= 1, got "
              + tokens.length
              + " tokens, "
              + positions.length
              + " positions, row length "
              + rowLength);
    }
    tokens = tokens.clone();
    positions = positions.clone();
  }

  /** N, the number of flat rows. */
  public int size() {
    return tokens.length;
  }

  /** The batch row of flat row r. */
  public int batchRow(int r) {
    return r / rowLength;
  }

  @Override
  public int[] tokens() {
    return tokens.clone();
  }

  @Override
  public int[] positions() {
    return positions.clone();
  }

  /** The token id of flat row r. */
  public int token(int r) {
    return tokens[r];
  }

  /** The position of flat row r in its sequence. */
  public int position(int r) {
    return positions[r];
  }
}
