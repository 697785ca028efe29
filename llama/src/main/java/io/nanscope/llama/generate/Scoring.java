package io.nanscope.llama.generate;

import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;

/**
 * Scores read from a sequence forward: the log-probability the model gives each next token of a row
 * (teacher forcing, position t predicts token t+1), and the argmax predictions at a span of
 * positions (EasyEdit's teacher-forced accuracy compares them with the answer tokens).
 */
public final class Scoring {

  private Scoring() {}

  /**
   * {@code log p(tokens[t+1] | tokens[0..t])} for t = 0 … len−2 of row {@code b}: log-softmax of
   * the FP32 logits computed in FP64 ({@code x_i − max − log Σ exp(x_j − max)}).
   */
  public static double[] nextTokenLogProbs(SequenceOutput out, SequenceBatch batch, int b) {
    int[] row = batch.row(b);
    double[] lp = new double[row.length - 1];
    for (int t = 0; t + 1 < row.length; t++) {
      float[] x = out.logitsAt(b, t);
      double max = Double.NEGATIVE_INFINITY;
      for (float v : x) {
        max = Math.max(max, v);
      }
      double s = 0;
      for (float v : x) {
        s += Math.exp(v - max);
      }
      lp[t] = x[row[t + 1]] - max - Math.log(s);
    }
    return lp;
  }

  /**
   * The argmax token ({@link Sampling#argmax}) at positions {@code from … from+count−1} of row b.
   */
  public static int[] argmaxAt(SequenceOutput out, int b, int from, int count) {
    int[] ids = new int[count];
    for (int i = 0; i < count; i++) {
      ids[i] = Sampling.argmax(out.logitsAt(b, from + i));
    }
    return ids;
  }
}
