package io.nanscope.editing.keys;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The subject key k* of ROME (Meng et al. 2022, §3.1; EasyEdit compute_u.py and repr_tools): the
 * input of {@code layers.L.mlp.down_proj} — {@code silu(gate(x))·up(x)}, dimension F — at the
 * subject's last token, averaged over prompts that put the subject in different contexts.
 */
public final class SubjectKey {

  private SubjectKey() {}

  /**
   * The down_proj input and output at one prompt's subject-last token (ROME's
   * cur_input/cur_output).
   */
  public record AtToken(float[] input, float[] output, int position, int[] tokens) {}

  /**
   * k̄ = mean over {@code texts} of the down_proj input at the subject's last token, in FP32 (the
   * inputs are the model's stored values: rounded to the policy's formats).
   *
   * @param texts prompts with one {@code {}} each, where the subject goes
   */
  public static float[] mean(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      List<String> texts,
      String subject) {
    int n = texts.size();
    int[][] tokens = new int[n][];
    int[] pos = new int[n];
    Hooks hooks = Hooks.none();
    for (int i = 0; i < n; i++) {
      tokens[i] = tok.encode(SubjectPositions.fill(texts.get(i), subject), true, false);
      pos[i] = SubjectPositions.subjectLast(tok, texts.get(i), subject);
      hooks = hooks.captureDownProjInput(layer, i, pos[i]);
    }
    Map<String, float[]> captured =
        capture(model, new SequenceBatch(tokens), policy, ctx, layer, hooks);
    float[] sum = null;
    double[] acc = null;
    for (int i = 0; i < n; i++) {
      float[] k = captured.get(Hooks.downProjInputKey(layer, i, pos[i]));
      if (acc == null) {
        acc = new double[k.length];
        sum = new float[k.length];
      }
      for (int j = 0; j < k.length; j++) {
        acc[j] += k[j];
      }
    }
    for (int j = 0; j < sum.length; j++) {
      sum[j] = (float) (acc[j] / n);
    }
    return sum;
  }

  /** down_proj input and output at the subject's last token of one bare prompt. */
  public static AtToken at(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      String promptTemplate,
      String subject) {
    int[] tokens = tok.encode(SubjectPositions.fill(promptTemplate, subject), true, false);
    int pos = SubjectPositions.subjectLast(tok, promptTemplate, subject);
    Hooks hooks = Hooks.none().captureDownProjInput(layer, 0, pos).captureMlpOutput(layer, 0, pos);
    Map<String, float[]> out =
        capture(model, new SequenceBatch(new int[][] {tokens}), policy, ctx, layer, hooks);
    return new AtToken(
        out.get(Hooks.downProjInputKey(layer, 0, pos)),
        out.get(Hooks.mlpOutputKey(layer, 0, pos)),
        pos,
        tokens);
  }

  /**
   * The captures of layer {@code layer}'s hooks. Without a tracer only the layers up to L run (the
   * captured values do not depend on what follows); with one, the whole forward runs, so that the
   * trace holds every op of it as before.
   */
  private static Map<String, float[]> capture(
      LlamaModel model,
      SequenceBatch batch,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      Hooks hooks) {
    if (ctx.tracer().enabled()) {
      SequenceOutput out = model.forward(batch, policy, ctx, null, hooks);
      Map<String, float[]> m = new HashMap<>();
      for (String k : out.capturedKeys()) {
        m.put(k, out.captured(k));
      }
      return m;
    }
    return model.forwardToMlpOutput(batch, policy, ctx, layer, hooks).captured();
  }
}
