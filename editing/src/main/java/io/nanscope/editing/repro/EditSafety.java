package io.nanscope.editing.repro;

import io.nanscope.editing.keys.DenseUpdate;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.PromptAnswer;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.Editor;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.Fp32Rows;
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
 * An edit-safety check (issue 13, part 4): before a W_down update is written, predict the largest
 * |x| that layer L's {@code down_proj} output and the residual stream after it ({@code
 * residual_mlp}) would reach on the request's probe prompts with the new weights, and warn when
 * that crosses the format's overflow threshold (65,520 for FP16); under the precision fallback
 * ({@code --policy auto}) refuse the update ({@link #checked(Editor, LlamaModel, Tokenizer,
 * PrecisionPolicy, boolean, java.util.function.Consumer)}).
 *
 * <p>The prediction runs the unedited model (untraced) up to layer L's MLP on each probe — the
 * layers below L do not see the update, so their values are exact — and captures the down_proj
 * input k_t (F) at every position and the residual after attention x_t (C). With the new W′ (C, F)
 * the down_proj output is then {@code y′_t = W′·k_t} (the figure is an FP64 sum of the stored
 * values, found with FP32 SIMD dots, {@link #predict}; the op sums in its FP32 accumulator, so it
 * can differ in the last digits) and the residual {@code x_t + y′_t}. Sites above L are not
 * predicted: the next RMSNorm renormalises a finite residual, and turns an infinite one into NaN.
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
   * Whether a site in {@code format} is predicted: only formats narrower than FP32 in range. The
   * prediction sums W′·k_t with an FP32 accumulator, as the op does; its own range is FP32's, so it
   * cannot foresee an FP32 overflow any earlier than the FP32 forward meets it, and FP32 sites are
   * skipped (an FP32 run then costs nothing: no probe forward at all).
   */
  static boolean predicted(FloatFormat format) {
    return format.info().maxFinite() < FloatFormat.FP32.info().maxFinite();
  }

  /** What the probe forward captured: per probe, its tokens, the keys k_t (T, F), x_t (T, C). */
  private record Probe(String text, int[] ids, float[][] keys, Tensor residual) {}

  /**
   * Predicts layer {@code layer}'s down_proj output and residual_mlp on the probes with {@code
   * newDown} (C, F) in place of W_down; the model is not changed and nothing is traced. Sites whose
   * format {@link #predicted} skips are left out (none predicted: no forward runs).
   *
   * <p>The figures are those of {@link #predictReference} (an FP64 sum over the stored values),
   * found at the cost of FP32 SIMD dots ({@code Fp32Rows.dot}): every y_t,n = W′_n·k_t is summed in
   * FP32 with the error bound |ŷ − y| ≤ γ_F·‖W′_n‖₁·max|k_t| (γ_F = F·2⁻²⁴/(1 − F·2⁻²⁴), any
   * summation order; the products and the sum of F terms), and only the elements whose bound
   * reaches the largest lower bound are summed again in FP64, in the reference's order, so the
   * maximum, its probe and its position are the reference's. A W′ with a non-finite entry goes to
   * the reference as it is.
   */
  public static List<Predicted> predict(
      LlamaModel model,
      Tokenizer tok,
      List<String> probes,
      int layer,
      Tensor newDown,
      PrecisionPolicy policy,
      OpContext ops) {
    Site down = Site.of("layers", layer, "mlp", "down_proj");
    Site res = Site.of("layers", layer, "residual_mlp");
    FloatFormat downFormat = policy.of(OpKind.MATMUL, down).output();
    FloatFormat resFormat = policy.of(OpKind.ADD, res).output();
    boolean[] want = {predicted(downFormat), predicted(resFormat)};
    if (!want[0] && !want[1]) {
      return List.of();
    }
    if (DenseUpdate.nonFinite(newDown) > 0) {
      return keep(predictReference(model, tok, probes, layer, newDown, policy, ops), want);
    }
    int c = Math.toIntExact(newDown.shape().dim(0));
    int f = Math.toIntExact(newDown.shape().dim(1));
    List<Probe> seen = forward(model, tok, probes, layer, policy, ops);
    // pass 1, FP32: ŷ (per probe T×C) and its bound e_t,n = γ·‖W′_n‖₁·max|k_t|
    // 1.001: room for the reference's own FP64 rounding (F·2⁻⁵³ relative to the same sum)
    double gamma = 1.001 * f * 0x1p-24 / (1 - f * 0x1p-24);
    float[] row = new float[f];
    double[] rowNorm1 = new double[c];
    List<float[][]> yHat = new ArrayList<>();
    List<double[]> kMax = new ArrayList<>();
    for (Probe p : seen) {
      int t = p.ids().length;
      yHat.add(new float[t][c]);
      double[] km = new double[t];
      for (int i = 0; i < t; i++) {
        for (float v : p.keys()[i]) {
          km[i] = Math.max(km[i], Math.abs(v));
        }
      }
      kMax.add(km);
    }
    for (int n = 0; n < c; n++) {
      Fp32Rows.decodeRow(newDown, n, row);
      double l1 = 0;
      for (float v : row) {
        l1 += Math.abs(v);
      }
      rowNorm1[n] = l1;
      for (int q = 0; q < seen.size(); q++) {
        float[][] keys = seen.get(q).keys();
        float[][] y = yHat.get(q);
        for (int i = 0; i < keys.length; i++) {
          y[i][n] = Fp32Rows.dot(row, 0, keys[i], 0, f);
        }
      }
    }
    // the largest lower bound of |y| and |x + y| over every element
    double[] floor = {-1, -1};
    for (int q = 0; q < seen.size(); q++) {
      Probe p = seen.get(q);
      for (int i = 0; i < p.ids().length; i++) {
        for (int n = 0; n < c; n++) {
          double e = gamma * rowNorm1[n] * kMax.get(q)[i];
          double y = yHat.get(q)[i][n];
          double x = p.residual().getDouble((long) i * c + n) + y;
          floor[0] = Math.max(floor[0], Math.abs(y) - e);
          floor[1] = Math.max(floor[1], Math.abs(x) - e);
        }
      }
    }
    // pass 2, FP64 over the elements that can reach it, in the reference's order
    double[] best = {-1, -1};
    String[] bestProbe = new String[2];
    int[] bestPos = new int[2];
    String[] bestTok = new String[2];
    for (int q = 0; q < seen.size(); q++) {
      Probe p = seen.get(q);
      for (int i = 0; i < p.ids().length; i++) {
        float[] k = p.keys()[i];
        for (int n = 0; n < c; n++) {
          double e = gamma * rowNorm1[n] * kMax.get(q)[i];
          double y32 = yHat.get(q)[i][n];
          double r = p.residual().getDouble((long) i * c + n);
          if (Math.abs(y32) + e < floor[0] && Math.abs(r + y32) + e < floor[1]) {
            continue;
          }
          double y = 0;
          for (int j = 0; j < f; j++) {
            y += newDown.getDouble((long) n * f + j) * k[j];
          }
          double[] v = {Math.abs(y), Math.abs(r + y)};
          for (int s = 0; s < 2; s++) {
            if (v[s] > best[s]) {
              best[s] = v[s];
              bestProbe[s] = p.text();
              bestPos[s] = i;
              bestTok[s] = tok.piece(p.ids()[i]);
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
    return keep(out, want);
  }

  private static List<Predicted> keep(List<Predicted> all, boolean[] want) {
    List<Predicted> out = new ArrayList<>();
    for (int s = 0; s < all.size(); s++) {
      if (want[s]) {
        out.add(all.get(s));
      }
    }
    return out;
  }

  /**
   * The unedited model up to layer L's MLP on each probe: the keys and residuals at every token.
   */
  private static List<Probe> forward(
      LlamaModel model,
      Tokenizer tok,
      List<String> probes,
      int layer,
      PrecisionPolicy policy,
      OpContext ops) {
    OpContext quiet = ops.withTracer(Tracer.NONE);
    List<Probe> out = new ArrayList<>();
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
      float[][] keys = new float[ids.length][];
      for (int t = 0; t < ids.length; t++) {
        keys[t] = pre.captured().get(Hooks.downProjInputKey(layer, 0, t));
      }
      out.add(new Probe(probe, ids, keys, pre.residual()));
    }
    return out;
  }

  /**
   * The reference prediction: the same figures from an FP64 loop over W′ decoded to doubles, every
   * element of both sites, whatever their format. Slow on a large model (T·C·F scalar FP64 steps
   * and C·F doubles); {@link #predict} gives its figures and the tests compare the two.
   */
  public static List<Predicted> predictReference(
      LlamaModel model,
      Tokenizer tok,
      List<String> probes,
      int layer,
      Tensor newDown,
      PrecisionPolicy policy,
      OpContext ops) {
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
    for (Probe p : forward(model, tok, probes, layer, policy, ops)) {
      int[] ids = p.ids();
      Tensor resid = p.residual();
      for (int t = 0; t < ids.length; t++) {
        float[] k = p.keys()[t];
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
              bestProbe[s] = p.text();
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
    return checked(inner, model, tok, policy, false, line -> {});
  }

  /**
   * The same; with {@code refuse}, an update predicted to overflow is not written: the session
   * leaves the weights as they were, and the log and {@code switches} get {@code refused the update
   * of edit N (edit-safety check: …): the weights are unchanged}. The precision fallback ({@code
   * --policy auto}) refuses this way: its fallback recomputes an edit whose own numbers went
   * non-finite, but the downstream forwards of a written update run in the model's policy, so
   * recomputing the edit cannot help them.
   */
  public static Editor checked(
      Editor inner,
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      boolean refuse,
      java.util.function.Consumer<String> switches) {
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
        Predicted first = null;
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
              if (first == null) {
                first = s;
              }
            }
          }
        }
        if (refuse && first != null) {
          String line =
              String.format(
                  Locale.ROOT,
                  "refused the update of edit %d (edit-safety check: %s would reach |x| = %s >"
                      + " maxFinite %s of %s): the weights are unchanged; --allow-unsafe-edits"
                      + " writes it",
                  ctx.edit(),
                  first.site(),
                  Numbers.human(first.maxAbs()),
                  Numbers.human(first.format().info().maxFinite()),
                  first.format().name());
          ctx.log().line(line);
          switches.accept(line);
          return u.refuse();
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
