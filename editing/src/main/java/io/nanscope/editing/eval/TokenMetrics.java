package io.nanscope.editing.eval;

/**
 * The token-level metrics of EasyEdit's evaluation (docs/reference/easyedit.md §6), on token ids
 * the model has already produced.
 *
 * <ul>
 *   <li>rewrite / rephrase / portability accuracy: teacher-forced token accuracy — the input is
 *       prompt + " " + answer, and the argmax at each position that predicts an answer token is
 *       compared with that token ({@code test_prediction_acc}); e.g. 2 of 3 tokens right = 0.667.
 *   <li>locality: the share of answer positions whose argmax token is the same before and after the
 *       edit ({@code <key>_acc = mean(pre_ids == post_ids)}); the gold answer only fixes positions
 *       and length.
 * </ul>
 */
public final class TokenMetrics {

  private TokenMetrics() {}

  /** Fraction of positions where {@code predicted[i] == target[i]}. */
  public static double teacherForcedAccuracy(int[] predicted, int[] target) {
    return agreement(predicted, target, "predicted", "target");
  }

  /** Fraction of positions where the edited model's argmax token equals the unedited model's. */
  public static double unchangedShare(int[] preEdit, int[] postEdit) {
    return agreement(preEdit, postEdit, "pre-edit", "post-edit");
  }

  private static double agreement(int[] a, int[] b, String nameA, String nameB) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(
          nameA
              + " has "
              + a.length
              + " tokens but "
              + nameB
              + " has "
              + b.length
              + ": compare the same answer positions");
    }
    if (a.length == 0) {
      throw new IllegalArgumentException(
          "no answer tokens to compare (empty answer): the accuracy would be 0/0");
    }
    int same = 0;
    for (int i = 0; i < a.length; i++) {
      if (a[i] == b[i]) {
        same++;
      }
    }
    return (double) same / a.length;
  }

  /**
   * The argmax tokens at the positions that predict an answer: with the input laid out as [prompt
   * tokens, answer tokens] and logits (T, V), position t predicts token t + 1, so the answer of
   * {@code answerLength} tokens starting at {@code answerStart} is predicted by positions
   * answerStart − 1 … answerStart + answerLength − 2.
   *
   * <p>Ties go to the lowest index and a NaN counts as the maximum (first NaN wins), as {@code
   * torch.argmax} does, so a NaN model shows up as a fixed token rather than as an exception.
   *
   * @param logits (T, V) row-major
   * @param vocab V
   * @param answerStart index of the first answer token in the input (≥ 1)
   * @param answerLength number of answer tokens (≥ 1)
   */
  public static int[] argmaxPredictions(
      float[] logits, int vocab, int answerStart, int answerLength) {
    if (vocab <= 0 || logits.length % vocab != 0) {
      throw new IllegalArgumentException(
          "logits of length " + logits.length + " are not (T, V) rows of V = " + vocab);
    }
    int tokens = logits.length / vocab;
    if (answerStart < 1 || answerLength < 1 || answerStart + answerLength > tokens) {
      throw new IllegalArgumentException(
          "answer tokens "
              + answerStart
              + ".."
              + (answerStart + answerLength - 1)
              + " (read at positions "
              + (answerStart - 1)
              + ".."
              + (answerStart + answerLength - 2)
              + ") must lie within the input of "
              + tokens
              + " tokens (logit rows), after at least one prompt token");
    }
    int[] out = new int[answerLength];
    for (int k = 0; k < answerLength; k++) {
      int row = (answerStart - 1 + k) * vocab;
      int best = 0;
      float max = logits[row];
      for (int v = 1; v < vocab && !Float.isNaN(max); v++) {
        float x = logits[row + v];
        if (x > max || Float.isNaN(x)) {
          max = x;
          best = v;
        }
      }
      out[k] = best;
    }
    return out;
  }
}
