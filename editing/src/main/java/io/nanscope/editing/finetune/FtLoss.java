package io.nanscope.editing.finetune;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.op.Add;
import io.nanscope.engine.op.Embedding;
import io.nanscope.engine.op.LogSoftmax;
import io.nanscope.engine.op.Nll;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.op.Scale;
import io.nanscope.engine.trace.Site;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * EasyEdit's two fine-tuning losses (easyeditor/models/ft/ft_main.py, {@code execute_ft}) on one
 * batch of B (prompt, target) pairs, the target with its leading space ({@code " " + target_new}).
 * Both are a mean over the B rows of a per-row mean negative log-likelihood:
 *
 * <pre>
 *   FT-L  prompt_last:  L_b = −Σ_j m_j · log p(y_j | prompt_b) / Σ_j m_j
 *         every token y_j of tok(target_b) — BOS included, padded with the pad id (= EOS) to the
 *         longest target of the batch — scored at the prompt's LAST position (a bag of tokens);
 *         m_j = [y_j ≠ unk]
 *   FT-M  target_new:   L_b = −Σ_{i ≥ P_b} log p(x_i | x_{&lt;i}) / (N_b − P_b)
 *         teacher forcing on x = tok(prompt_b + target_b) (N_b tokens), P_b = len(tok(prompt_b)):
 *         the tokens after the prompt's token count are supervised
 *   L = (1/B) Σ_b L_b
 * </pre>
 *
 * Log-probabilities come from the logits as the model leaves them (FP32 under the {@code pytorch-*}
 * policies: {@code logits.float()}); the gather, log-softmax and NLL run in the policy's precision
 * for {@link OpKind#GATHER}, {@link OpKind#LOG_SOFTMAX} and {@link OpKind#LOSS}, the batch mean in
 * {@link OpKind#SUM}'s, at sites {@code loss.b.*}.
 *
 * <p>Rows of different length: EasyEdit left-pads FT batches (its padding side for methods other
 * than ROME/MEMIT/…) and runs the model without position ids, so a padded row's positions shift,
 * and its {@code prompt_last} index ({@code attention_mask.sum − 1}) then points into the prompt.
 * Here each row is read as if it were alone (right padding, masked), which is what the loss means;
 * with EasyEdit's {@code batch_size: 1} the two agree.
 */
public final class FtLoss {

  private FtLoss() {}

  /** EasyEdit's {@code objective_optimization} values. */
  public enum Objective {
    /** FT-L: all target tokens at the last prompt position. */
    PROMPT_LAST("prompt_last"),
    /** FT-M: teacher-forced cross-entropy on the target tokens after the prompt. */
    TARGET_NEW("target_new");

    private final String key;

    Objective(String key) {
      this.key = key;
    }

    public String key() {
      return key;
    }

    public static Objective of(String key) {
      for (Objective o : values()) {
        if (o.key.equals(key)) {
          return o;
        }
      }
      throw new IllegalArgumentException(
          "objective_optimization \""
              + key
              + "\" is not one of prompt_last (FT-L), target_new (FT-M)");
    }
  }

  /**
   * One batch, tokenised as EasyEdit does.
   *
   * @param tokens per row, the tokens the model reads (prompt for FT-L, prompt + target for FT-M)
   * @param positions per row, the positions whose next-token distribution is scored
   * @param targets per row, the token each scored position must give (same length as positions)
   * @param mask per row, whether the scored token counts (FT-L: not unk; FT-M: all)
   */
  public record Batch(
      Objective objective, int[][] tokens, int[][] positions, int[][] targets, boolean[][] mask) {

    public int rows() {
      return tokens.length;
    }
  }

  /**
   * Tokenises {@code prompts} and {@code targets} (targets with their leading space) for {@code
   * objective}.
   */
  public static Batch batch(
      Tokenizer tok, Objective objective, List<String> prompts, List<String> targets) {
    if (prompts.size() != targets.size() || prompts.isEmpty()) {
      throw new IllegalArgumentException(
          "a fine-tuning batch needs as many targets as prompts (at least one), got "
              + prompts.size()
              + " and "
              + targets.size());
    }
    int b = prompts.size();
    int[][] tokens = new int[b][];
    int[][] positions = new int[b][];
    int[][] targetIds = new int[b][];
    boolean[][] mask = new boolean[b][];
    if (objective == Objective.PROMPT_LAST) {
      // tok(tgt, padding=True): BOS + pieces, padded with pad_token_id = eos_token_id (EasyEdit
      // sets it for Llama); the pad side does not matter for a bag of tokens.
      int[][] raw = new int[b][];
      int longest = 0;
      for (int r = 0; r < b; r++) {
        raw[r] = tok.encode(targets.get(r), true, false);
        longest = Math.max(longest, raw[r].length);
      }
      for (int r = 0; r < b; r++) {
        tokens[r] = tok.encode(prompts.get(r), true, false);
        int last = tokens[r].length - 1;
        targetIds[r] = Arrays.copyOf(raw[r], longest);
        Arrays.fill(targetIds[r], raw[r].length, longest, tok.eosId());
        positions[r] = new int[longest];
        Arrays.fill(positions[r], last);
        mask[r] = new boolean[longest];
        for (int j = 0; j < longest; j++) {
          mask[r][j] = targetIds[r][j] != tok.unkId();
        }
      }
    } else {
      for (int r = 0; r < b; r++) {
        int promptLen = tok.encode(prompts.get(r), true, false).length;
        int[] full = tok.encode(prompts.get(r) + targets.get(r), true, false);
        tokens[r] = full;
        int n = full.length - promptLen;
        if (n <= 0) {
          throw new IllegalArgumentException(
              "target \""
                  + targets.get(r)
                  + "\" adds no token after the prompt \""
                  + prompts.get(r)
                  + "\" ("
                  + promptLen
                  + " tokens alone, "
                  + full.length
                  + " with the target): FT-M has nothing"
                  + " to supervise (EasyEdit's loss would be 0/0)");
        }
        positions[r] = new int[n];
        targetIds[r] = new int[n];
        mask[r] = new boolean[n];
        for (int j = 0; j < n; j++) {
          positions[r][j] = promptLen - 1 + j; // position i predicts token i + 1
          targetIds[r][j] = full[promptLen + j];
          mask[r][j] = true;
        }
      }
    }
    return new Batch(objective, tokens, positions, targetIds, mask);
  }

  /**
   * The loss of {@code batch} with the model's weights, except those in {@code params} (HF name →
   * tape leaf), recorded on {@code tape} so that {@link Tape#backward} reaches {@code params}.
   *
   * @return the scalar loss (shape ())
   */
  public static Var loss(
      LlamaModel model,
      PrecisionPolicy policy,
      OpContext ctx,
      Tape tape,
      Batch batch,
      Map<String, Var> params) {
    SequenceBatch seq = new SequenceBatch(batch.tokens());
    Var logits = model.forward(seq, policy, ctx, tape, Hooks.none(), params).logits(); // (B·T, V)
    int t = seq.length();
    Site lossSite = new Site("loss");
    Var sum = null;
    for (int r = 0; r < batch.rows(); r++) {
      Site rs = lossSite.child(r);
      int[] pos = batch.positions()[r];
      Var rowLoss;
      if (batch.objective() == Objective.PROMPT_LAST) {
        // log_softmax(logits[b, last]) once, then the bag of targets read from it
        Site g = rs.child("gather");
        Var row =
            Embedding.apply(
                tape, ctx, g, policy.of(OpKind.GATHER, g), logits, new int[] {r * t + pos[0]});
        Site ls = rs.child("log_softmax");
        Var logp = LogSoftmax.apply(tape, ctx, ls, policy.of(OpKind.LOG_SOFTMAX, ls), row);
        Site bag = rs.child("bag");
        Var rows =
            Embedding.apply(
                tape, ctx, bag, policy.of(OpKind.GATHER, bag), logp, new int[pos.length]);
        Site nll = rs.child("nll");
        rowLoss =
            Nll.apply(
                tape,
                ctx,
                nll,
                policy.of(OpKind.LOSS, nll),
                rows,
                batch.targets()[r],
                batch.mask()[r]);
      } else {
        int[] flat = new int[pos.length];
        for (int j = 0; j < pos.length; j++) {
          flat[j] = r * t + pos[j];
        }
        Site g = rs.child("gather");
        Var rows = Embedding.apply(tape, ctx, g, policy.of(OpKind.GATHER, g), logits, flat);
        Site ls = rs.child("log_softmax");
        Var logp = LogSoftmax.apply(tape, ctx, ls, policy.of(OpKind.LOG_SOFTMAX, ls), rows);
        Site nll = rs.child("nll");
        rowLoss =
            Nll.apply(
                tape,
                ctx,
                nll,
                policy.of(OpKind.LOSS, nll),
                logp,
                batch.targets()[r],
                batch.mask()[r]);
      }
      if (sum == null) {
        sum = rowLoss;
      } else {
        Site s = lossSite.child("sum");
        sum = Add.apply(tape, ctx, s, policy.of(OpKind.SUM, s), sum, rowLoss);
      }
    }
    if (batch.rows() == 1) {
      return sum;
    }
    Site mean = lossSite.child("mean");
    return Scale.apply(tape, ctx, mean, policy.of(OpKind.SUM, mean), sum, 1.0 / batch.rows());
  }
}
