package io.nanscope.editing.repro;

import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.PromptAnswer;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.Editor;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Numbers;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.TensorStats;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * An edit-safety check (issue 13, part 4, warning only): before a W_down update is written, predict
 * the largest |x| that layer L's {@code down_proj} output and the residual stream after it ({@code
 * residual_mlp}) would reach on the request's probe prompts with the new weights, and warn when
 * that crosses the format's overflow threshold (65,520 for FP16).
 *
 * <p>The prediction runs the unedited model (untraced) up to layer L's MLP on each probe — the
 * layers below L do not see the update, so their values are exact — and captures the down_proj
 * input k_t (F) at every position and the residual after attention x_t (C). With the new W′ (C, F)
 * the down_proj output is then {@code y′_t = W′·k_t} (summed here in FP64 from the stored values;
 * the op sums in its FP32 accumulator, so the figure can differ in the last digits) and the
 * residual {@code x_t + y′_t}. Sites above L are not predicted: the next RMSNorm renormalises a
 * finite residual, and turns an infinite one into NaN.
 */
public final class EditSafety {

  private EditSafety() {}

  /**
   * One predicted site.
   *
   * @param site e.g. {@code layers.1.mlp.down_proj}
   * @param format the site's output format under the policy
   * @param maxAbs the predicted largest |x| over the probes
   * @param probe the probe text where it occurs
   * @param position the token position there
   * @param token the token's text
   */
  public record Predicted(
      String site, FloatFormat format, double maxAbs, String probe, int position, String token) {

    /** log2(maxFinite / max|x|) in the site's format. */
    public double headroom() {
      return Math.log(format.info().maxFinite() / maxAbs) / Math.log(2);
    }

    /** Whether the predicted value rounds to inf (or NaN) in the site's format. */
    public boolean overflows() {
      double t = TensorStats.overflowThreshold(format);
      return TensorStats.thresholdOverflows(format) ? maxAbs >= t : maxAbs > t;
    }

    /** The warning line. */
    public String warning() {
      return String.format(
          Locale.ROOT,
          "edit-safety check (before writing): %s would reach |x| = %s on the probe \"%s\""
              + " (position %d, \"%s\") > maxFinite %s of %s (headroom %.2f binades): this"
              + " update overflows %s",
          site,
          Numbers.human(maxAbs),
          probe,
          position,
          token,
          Numbers.human(format.info().maxFinite()),
          format.name(),
          headroom(),
          format.name());
    }
  }

  /**
   * The probe prompts of a request: rewrite and rephrase with the target, locality, portability.
   */
  static List<String> probes(EditRequest r) {
    Set<String> p = new LinkedHashSet<>();
    p.add(r.prompt() + " " + r.targetNew());
    r.rephrase().ifPresent(q -> p.add(q + " " + r.targetNew()));
    for (List<PromptAnswer> l : r.locality().values()) {
      l.forEach(a -> p.add(a.prompt()));
    }
    for (List<PromptAnswer> l : r.portability().values()) {
      l.forEach(a -> p.add(a.prompt()));
    }
    return List.copyOf(p);
  }

  /**
   * Predicts layer {@code layer}'s down_proj output and residual_mlp on the probes with {@code
   * newDown} (C, F) in place of W_down; the model is not changed and nothing is traced.
   */
  public static List<Predicted> predict(
      LlamaModel model,
      Tokenizer tok,
      List<String> probes,
      int layer,
      Tensor newDown,
      PrecisionPolicy policy,
      OpContext ops) {
    OpContext quiet = ops.withTracer(Tracer.NONE);
    Site down = Site.of("layers", layer, "mlp", "down_proj");
    Site res = Site.of("layers", layer, "residual_mlp");
    FloatFormat downFormat = policy.of(OpKind.MATMUL, down).output();
    FloatFormat resFormat = policy.of(OpKind.ADD, res).output();
    long c = newDown.shape().dim(0), f = newDown.shape().dim(1);
    double[] w = newDown.toDoubleArray();
    double[] best = {-1, -1};
    String[] bestProbe = new String[2];
    int[] bestPos = new int[2];
    String[] bestTok = new String[2];
    for (String probe : probes) {
      int[] ids = tok.encode(probe, true, false);
      if (ids.length > model.config().maxSeqLen()) {
        continue;
      }
      Hooks hooks = Hooks.none();
      for (int t = 0; t < ids.length; t++) {
        hooks = hooks.captureDownProjInput(layer, 0, t);
      }
      LlamaModel.MlpOutputPrefix pre =
          model.forwardToMlpOutput(SequenceBatch.of(ids), policy, quiet, layer, hooks);
      Tensor resid = pre.residual();
      for (int t = 0; t < ids.length; t++) {
        float[] k = pre.captured().get(Hooks.downProjInputKey(layer, 0, t));
        for (int n = 0; n < c; n++) {
          double y = 0;
          for (int j = 0; j < f; j++) {
            y += w[(int) (n * f + j)] * k[j];
          }
          double x = resid.getDouble((long) t * c + n) + y;
          double[] v = {Math.abs(y), Math.abs(x)};
          for (int s = 0; s < 2; s++) {
            if (v[s] > best[s] || Double.isNaN(v[s])) {
              best[s] = v[s];
              bestProbe[s] = probe;
              bestPos[s] = t;
              bestTok[s] = tok.piece(ids[t]);
            }
          }
        }
      }
    }
    List<Predicted> out = new ArrayList<>();
    if (best[0] >= 0) {
      out.add(
          new Predicted(down.name(), downFormat, best[0], bestProbe[0], bestPos[0], bestTok[0]));
      out.add(new Predicted(res.name(), resFormat, best[1], bestProbe[1], bestPos[1], bestTok[1]));
    }
    return out;
  }

  /**
   * An editor that runs {@link #predict} on every W_down change of {@code inner}'s update before it
   * is written and logs a warning line per site that would overflow in {@code policy}'s formats;
   * the update itself is passed on unchanged (warning only).
   */
  public static Editor checked(
      Editor inner, LlamaModel model, Tokenizer tok, PrecisionPolicy policy) {
    return new Editor() {
      @Override
      public String algorithm() {
        return inner.algorithm();
      }

      @Override
      public WeightUpdate compute(List<EditRequest> batch, EditContext ctx) {
        WeightUpdate u = inner.compute(batch, ctx);
        if (u.refused() || batch.size() != 1) {
          return u;
        }
        for (WeightUpdate.Change ch : u.changes()) {
          if (!ch.weightName().endsWith(".mlp.down_proj.weight")) {
            continue;
          }
          for (Predicted s :
              predict(
                  model,
                  tok,
                  probes(batch.getFirst()),
                  ch.layer(),
                  ch.value(),
                  policy,
                  ctx.ops())) {
            if (s.overflows()) {
              ctx.log().line(s.warning());
            }
          }
        }
        return u;
      }

      @Override
      public void written(WeightUpdate update, EditLog log) {
        inner.written(update, log);
      }
    };
  }
}
