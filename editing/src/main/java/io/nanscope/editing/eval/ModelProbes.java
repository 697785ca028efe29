package io.nanscope.editing.eval;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * The model side of EasyEdit's metrics (evaluate_utils.test_prediction_acc): one teacher-forced
 * forward of {@code prompt + ' ' + answer}, the argmax at each position that predicts an answer
 * token, and the answer tokens themselves.
 *
 * <p>With BOS counted, the prompt has {@code P} tokens and the full input {@code N}; EasyEdit
 * slices {@code answers = argmax[P-1 : N-1]} and {@code labels = ids[P : N]}.
 */
public final class ModelProbes {

  private final LlamaModel model;
  private final Tokenizer tok;
  private final PrecisionPolicy policy;
  private final OpContext ctx;

  public ModelProbes(LlamaModel model, Tokenizer tok, PrecisionPolicy policy, OpContext ctx) {
    this.model = model;
    this.tok = tok;
    this.policy = policy;
    this.ctx = ctx;
  }

  /** The argmax predictions and the labels at the answer positions. */
  public record Probe(int[] predicted, int[] labels) {

    public double accuracy() {
      return TokenMetrics.teacherForcedAccuracy(predicted, labels);
    }
  }

  /** Teacher-forced probe of {@code answer} after {@code prompt}. */
  public Probe probe(String prompt, String answer) {
    int[] full = tok.encode(prompt + " " + answer, true, false);
    int p = tok.encode(prompt, true, false).length;
    if (p >= full.length) {
      throw new IllegalArgumentException(
          "the answer \"" + answer + "\" adds no token after the prompt \"" + prompt + "\"");
    }
    float[] logits =
        model
            .forward(new SequenceBatch(new int[][] {full}), policy, ctx, null, Hooks.none())
            .logits()
            .value()
            .toFloatArray();
    int n = full.length - p;
    int[] predicted = TokenMetrics.argmaxPredictions(logits, model.config().vocabSize(), p, n);
    return new Probe(predicted, Arrays.copyOfRange(full, p, full.length));
  }

  public PrecisionPolicy policy() {
    return policy;
  }
}
