package io.nanscope.editing.keys;

import io.nanscope.editing.hparams.ValueOptimization;
import io.nanscope.editing.request.RomeRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.List;

/**
 * What MEMIT and AlphaEdit read from the model at an edit layer (EasyEdit memit/compute_ks.py and
 * compute_z.get_module_input_output_at_words): for n requests,
 *
 * <pre>
 *   K: (F, n)   column j = mean over template groups of (mean within the group of the down_proj
 *               input at the subject's last token of template.format(prompt_j))
 *   Z: (C, n)   column j = the residual after layer L at the subject's last token of the bare prompt
 * </pre>
 *
 * Each mean is rounded to the policy's storage format (torch's {@code .mean(0)} on model-dtype
 * tensors); the sums run in FP64.
 */
public final class LayerKeys {

  private LayerKeys() {}

  /** A request as the keys need it: the prompt with {@code {}} for the subject. */
  public record Prompt(String promptTemplate, String subject) {}

  /**
   * K at {@code layer}: (F, n) row-major as {@code double[F][n]} (values of the storage format).
   * One batched forward over every (request, template).
   */
  public static double[][] keys(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      TemplateGroups templates,
      List<Prompt> requests) {
    List<List<String>> groups = templates.groups();
    int perRequest = groups.stream().mapToInt(List::size).sum();
    int n = requests.size();
    int[][] tokens = new int[n * perRequest][];
    int[] pos = new int[tokens.length];
    Hooks hooks = Hooks.none();
    int row = 0;
    for (Prompt r : requests) {
      for (List<String> g : groups) {
        for (String t : g) {
          String text = t.replace("{}", r.promptTemplate());
          tokens[row] = tok.encode(SubjectPositions.fill(text, r.subject()), true, false);
          pos[row] = SubjectPositions.subjectLast(tok, text, r.subject());
          hooks = hooks.captureDownProjInput(layer, row, pos[row]);
          row++;
        }
      }
    }
    SequenceOutput out = model.forward(new SequenceBatch(tokens), policy, ctx, null, hooks);
    FloatFormat s = policy.storage();
    int f = model.config().hiddenDim();
    double[][] k = new double[f][n];
    row = 0;
    for (int j = 0; j < n; j++) {
      double[] ofGroups = new double[f];
      for (List<String> g : groups) {
        double[] sum = new double[f];
        for (int m = 0; m < g.size(); m++, row++) {
          float[] key = out.captured(Hooks.downProjInputKey(layer, row, pos[row]));
          for (int i = 0; i < f; i++) {
            sum[i] += key[i];
          }
        }
        for (int i = 0; i < f; i++) {
          ofGroups[i] += s.round(sum[i] / g.size());
        }
      }
      for (int i = 0; i < f; i++) {
        k[i][j] = s.round(ofGroups[i] / groups.size());
      }
    }
    return k;
  }

  /**
   * Z at {@code layer}: (C, n) as {@code double[C][n]}, the residual after the layer (stored
   * values).
   */
  public static double[][] residuals(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      List<Prompt> requests) {
    int n = requests.size();
    int[][] tokens = new int[n][];
    int[] pos = new int[n];
    Hooks hooks = Hooks.none();
    for (int j = 0; j < n; j++) {
      Prompt r = requests.get(j);
      tokens[j] = tok.encode(SubjectPositions.fill(r.promptTemplate(), r.subject()), true, false);
      pos[j] = SubjectPositions.subjectLast(tok, r.promptTemplate(), r.subject());
      hooks = hooks.captureResidual(layer, j, pos[j]);
    }
    SequenceOutput out = model.forward(new SequenceBatch(tokens), policy, ctx, null, hooks);
    int c = model.config().dim();
    double[][] z = new double[c][n];
    for (int j = 0; j < n; j++) {
      float[] v = out.captured(Hooks.residualKey(layer, j, pos[j]));
      for (int i = 0; i < c; i++) {
        z[i][j] = v[i];
      }
    }
    return z;
  }

  /**
   * MEMIT's and AlphaEdit's z for every request of a batch (compute_z.py): ROME's v* objective with
   * δ added to the residual stream after {@code zLayer}, one optimisation per request, each logged
   * as EasyEdit does ("Init norm … | Delta norm … | Target norm …").
   */
  public static List<TargetValue.Result> residualTargets(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      int zLayer,
      ValueOptimization hp,
      TemplateGroups contexts,
      List<RomeRequest> requests,
      EditLog log,
      TargetValue.StepListener listener) {
    List<TargetValue.Result> values = new java.util.ArrayList<>();
    for (RomeRequest r : requests) {
      TargetValue.Result v =
          TargetValue.optimise(
              model,
              tok,
              policy,
              ctx,
              zLayer,
              TargetValue.DeltaSite.RESIDUAL,
              hp,
              contexts.flat(),
              r.promptTemplate(),
              r.subject(),
              r.targetNew(),
              log,
              listener,
              null);
      log.line(
          "Init norm "
              + DenseUpdate.norm(v.init())
              + " | Delta norm "
              + DenseUpdate.norm(v.delta())
              + " | Target norm "
              + DenseUpdate.norm(v.target()));
      values.add(v);
    }
    return List.copyOf(values);
  }

  /** The requests' prompts as {@link #keys} and {@link #residuals} take them. */
  public static List<Prompt> prompts(List<RomeRequest> requests) {
    return requests.stream().map(r -> new Prompt(r.promptTemplate(), r.subject())).toList();
  }
}
