package io.nanscope.editing.rome;

import io.nanscope.editing.hparams.ModuleTemplates;
import io.nanscope.editing.hparams.RRomeKeys;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.PyFloat;
import io.nanscope.editing.keys.SubjectKey;
import io.nanscope.editing.keys.SubjectPositions;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.keys.UpdateSite;
import io.nanscope.editing.request.RomeRequest;
import io.nanscope.editing.session.WeightSnapshot;
import io.nanscope.engine.autograd.LossScaler;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.linalg.Cholesky;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * ROME — Rank-One Model Editing (Meng, Bau, Andonian, Belinkov, NeurIPS 2022), with EasyEdit's
 * semantics (easyeditor/models/rome: execute_rome, compute_u, compute_v): for each edited layer L,
 *
 * <pre>
 *   u  = k̄ / ‖k̄‖                      k̄ = mean over contexts of the down_proj input at the subject (SubjectKey)
 *   v* = v_init + δ                    δ optimised so the model says the target (TargetValue)
 *   r  = (v* − W k) / (kᵀu)            k, W k: down_proj input/output at the subject of the bare prompt
 *   W' = W + r uᵀ                      so that W' k = v*                        (RankOneUpdate)
 * </pre>
 *
 * All of it in the model's precision policy: k, u, v*, r and the update are values of the storage
 * format (FP16 under {@code pytorch-fp16}), as EasyEdit computes them in the model dtype; δ and its
 * Adam state are FP32, as in EasyEdit.
 *
 * <p>R-ROME (Gupta, Baskaran, Anumanchipalli 2024, "Rebuilding ROME", arXiv 2403.07175; EasyEdit
 * easyeditor/models/r_rome), selected by {@code alg_name: "R-ROME"}: ROME builds u from the
 * template-averaged key k̄ but puts the bare prompt's k in {@code kᵀu} and {@code W k}; when the
 * two differ, kᵀu can be tiny and ‖r‖ huge (the "disabling edits"). R-ROME puts k̄ in both places:
 *
 * <pre>
 *   r  = (v* − mean_i W k_i) / (k̄ᵀu)     k_i, W k_i: down_proj input/output, subject of context i
 *   W' = W + r uᵀ                          so that W' k̄ = v*
 * </pre>
 *
 * with EasyEdit's other key options ({@link RRomeKeys}) as r_rome implements them.
 *
 * <p>{@link #compute} never changes the model: it returns the updated weights, and {@link #apply}
 * writes them. Between layers of a multi-layer edit the update is applied temporarily, as
 * execute_rome does, and undone before returning.
 */
public final class Rome {

  private Rome() {}

  /**
   * The stages {@link #compute} reports ({@link Options#withStages}), in EasyEdit's function names.
   */
  public static final String STAGE_U = "compute_u",
      STAGE_V = "compute_v",
      STAGE_KEY = "key at the bare prompt";

  /**
   * How to run one edit.
   *
   * @param policy the precision policy of every forward and backward
   * @param ctx tracer, threads
   * @param divisionFactorOverride a LABELLED intervention: use this kᵀu instead of the computed one
   *     (the "disabling edit" of the reproduction); empty for the faithful algorithm
   * @param listener sees each optimisation step (the precision fallback stops at the first
   *     non-finite one)
   * @param dynamicLossScale whether the delta's backward uses a fresh {@link LossScaler} per layer
   *     (GradScaler semantics; not in EasyEdit, off by default)
   * @param stages told each stage's name as the edit enters it ({@link #withStages})
   */
  public record Options(
      PrecisionPolicy policy,
      OpContext ctx,
      OptionalDouble divisionFactorOverride,
      TargetValue.StepListener listener,
      IntFunction<double[]> keySecondMoment,
      boolean dynamicLossScale,
      Consumer<String> stages) {

    public static Options of(PrecisionPolicy policy, OpContext ctx) {
      return new Options(
          policy,
          ctx,
          OptionalDouble.empty(),
          TargetValue.StepListener.ALWAYS,
          null,
          false,
          stage -> {});
    }

    public Options withDivisionFactor(double value) {
      return new Options(
          policy,
          ctx,
          OptionalDouble.of(value),
          listener,
          keySecondMoment,
          dynamicLossScale,
          stages);
    }

    public Options withListener(TargetValue.StepListener l) {
      return new Options(
          policy, ctx, divisionFactorOverride, l, keySecondMoment, dynamicLossScale, stages);
    }

    /**
     * For {@code mom2_adjustment: true}: layer → C = E[k kᵀ] as a row-major F×F array (see {@code
     * stats.KeyStatistics}); u becomes C⁻¹k̄/‖C⁻¹k̄‖, computed by a Cholesky solve in FP64.
     */
    public Options withKeySecondMoment(IntFunction<double[]> c) {
      return new Options(
          policy, ctx, divisionFactorOverride, listener, c, dynamicLossScale, stages);
    }

    /**
     * GradScaler-style dynamic loss scaling of the delta's backward (a labelled option, not
     * EasyEdit).
     */
    public Options withDynamicLossScale(boolean on) {
      return new Options(
          policy, ctx, divisionFactorOverride, listener, keySecondMoment, on, stages);
    }

    /**
     * Told the name of each stage as the edit enters it: {@code compute_u} (the key k̄ and u),
     * {@code compute_v} (the optimisation of v*), {@code key at the bare prompt} (k and W k that r
     * divides by), per layer.
     */
    public Options withStages(Consumer<String> s) {
      return new Options(
          policy, ctx, divisionFactorOverride, listener, keySecondMoment, dynamicLossScale, s);
    }
  }

  /**
   * One layer's update.
   *
   * @param weightName e.g. {@code model.layers.1.mlp.down_proj.weight}
   * @param u (F) left vector; @param r (C) right vector
   * @param divisionFactor kᵀu as used (the override when there is one)
   * @param computedDivisionFactor kᵀu as computed
   * @param target (C) v* as the update uses it (R-ROME without prefix keys: W k + δ)
   * @param keyOutput (C) the W k that r subtracts: the bare prompt's (ROME) or the template mean
   *     (R-ROME); r = round(round(target − keyOutput) / divisionFactor)
   * @param updated the new W_down (C, F), not yet written into the model
   */
  public record LayerUpdate(
      int layer,
      String weightName,
      float[] u,
      float[] r,
      double divisionFactor,
      double computedDivisionFactor,
      boolean overridden,
      TargetValue.Result value,
      float[] target,
      float[] keyOutput,
      Tensor updated,
      long nonFiniteWeights) {}

  /** Every layer's update for one request. */
  public record Outcome(RomeRequest request, List<LayerUpdate> layers) {

    /** Whether every loss, the delta, the vectors and the new weights are finite. */
    public boolean finite() {
      for (LayerUpdate l : layers) {
        if (l.nonFiniteWeights() > 0
            || !allFinite(l.u())
            || !allFinite(l.r())
            || !Double.isFinite(l.divisionFactor())
            || l.value().steps().stream().anyMatch(s -> !s.finite())) {
          return false;
        }
      }
      return true;
    }
  }

  /** Computes the update of every layer in {@code hp.layers()} (the model is left as it was). */
  public static Outcome compute(
      LlamaModel model,
      Tokenizer tok,
      RomeHyperParams hp,
      RomeRequest request,
      ContextTemplates contexts,
      Options opt,
      EditLog log) {
    if (hp.secondMoment().adjustment() && opt.keySecondMoment() == null) {
      throw new IllegalArgumentException(
          "mom2_adjustment: true needs the key second moment C of each edited layer: pass it with"
              + " Rome.Options.withKeySecondMoment (the edit command computes it from mom2_dataset)");
    }
    // R-ROME's key options; ROME: u from k̄, the update from the bare prompt's k.
    boolean meanForU = hp.rRome().map(RRomeKeys::templateKeyForU).orElse(true);
    boolean meanInUpdate = hp.rRome().map(RRomeKeys::templateKeyInUpdate).orElse(false);
    hp.rRome()
        .map(RRomeKeys::methodName)
        .ifPresent(m -> log.line("Using key modification method: " + m));
    log.line(request.logLine());
    List<LayerUpdate> updates = new ArrayList<>();
    WeightSnapshot applied = WeightSnapshot.of(model);
    FloatFormat fmt = opt.policy().storage();
    try {
      for (int layer : hp.layers().stream().sorted().toList()) {
        String weightName =
            ModuleTemplates.atLayer(hp.modules().rewriteModule(), layer) + ".weight";
        opt.stages().accept(STAGE_U);
        log.line("Computing left vector (u)...");
        log.line("Selected u projection object " + request.subject());
        List<String> around = contexts.around(request.promptTemplate());
        TemplateMean templates = null;
        float[] kMean;
        if (!meanForU) {
          kMean =
              SubjectKey.at(
                      model,
                      tok,
                      opt.policy(),
                      opt.ctx(),
                      layer,
                      request.promptTemplate(),
                      request.subject())
                  .input();
        } else if (meanInUpdate) {
          // one forward gives k̄ (SubjectKey.mean's bits) and the mean output for the update
          templates = templateMean(model, tok, opt, layer, around, request.subject());
          kMean = templates.input();
        } else {
          kMean =
              SubjectKey.mean(
                  model, tok, opt.policy(), opt.ctx(), layer, around, request.subject());
        }
        if (hp.secondMoment().adjustment()) {
          kMean = solve(opt.keySecondMoment().apply(layer), kMean);
        }
        float[] u = unit(kMean, fmt);
        log.line("Left vector shape: (" + u.length + ",)");
        log.line("Computing right vector (v)");
        opt.stages().accept(STAGE_V);
        TargetValue.Result v =
            TargetValue.optimise(
                model,
                tok,
                opt.policy(),
                opt.ctx(),
                layer,
                hp.valueOptimization(),
                contexts,
                request.promptTemplate(),
                request.subject(),
                request.targetNew(),
                log,
                opt.listener(),
                opt.dynamicLossScale() ? new LossScaler() : null);
        // The key and output in the update, and v*: ROME's bare prompt (v* = v_init + δ); R-ROME's
        // template means (stacked and averaged in the model's dtype), or the bare prompt with
        // v* = W k + δ (r_rome's compute_v without random-prefix keys).
        opt.stages().accept(STAGE_KEY);
        float[] keyIn;
        float[] outAt;
        float[] target;
        if (meanInUpdate) {
          if (templates == null) {
            templates = templateMean(model, tok, opt, layer, around, request.subject());
          }
          keyIn = rounded(templates.input(), fmt);
          outAt = rounded(templates.output(), fmt);
          target = v.target();
        } else {
          SubjectKey.AtToken cur =
              SubjectKey.at(
                  model,
                  tok,
                  opt.policy(),
                  opt.ctx(),
                  layer,
                  request.promptTemplate(),
                  request.subject());
          keyIn = cur.input();
          outAt = cur.output();
          if (hp.rRome().isPresent()) {
            target = new float[outAt.length];
            for (int i = 0; i < target.length; i++) {
              target[i] = fmt.round(outAt[i] + fmt.round(v.delta()[i]));
            }
          } else {
            target = v.target();
          }
        }
        // r = (v* − W k) / (kᵀu), each step rounded to the update site's format: the model's
        // format as torch does in its dtype, unless the policy widens
        // layers.L.mlp.down_proj.update.
        FloatFormat uf = UpdateSite.format(opt.policy(), layer);
        float[] diff = new float[target.length];
        for (int i = 0; i < diff.length; i++) {
          diff[i] = uf.round(target[i] - outAt[i]);
        }
        double computedFactor = uf.round(dot(keyIn, u));
        double factor = opt.divisionFactorOverride().orElse(computedFactor);
        float[] r = new float[diff.length];
        for (int i = 0; i < r.length; i++) {
          r[i] = (float) uf.round(diff[i] / factor);
        }
        log.line("Delta norm: " + PyFloat.repr(uf.round(norm(diff))));
        double before = fmt.round(norm(v.init()));
        double after = fmt.round(norm(target));
        log.line(
            "Change in target norm: "
                + PyFloat.repr(before)
                + " to "
                + PyFloat.repr(after)
                + " => "
                + PyFloat.repr(fmt.round(after - before)));
        if (opt.divisionFactorOverride().isPresent()) {
          log.line(
              "Division Factor: "
                  + PyFloat.repr(factor)
                  + "   [OVERRIDE — computed "
                  + PyFloat.repr(computedFactor)
                  + "; a labelled intervention, not ROME]");
        } else {
          log.line("Division Factor: " + PyFloat.repr(factor));
        }
        log.line("Right vector norm: " + PyFloat.repr(uf.round(norm(r))));
        log.line("Right vector shape: (" + r.length + ",)");
        Tensor w = model.writableDownProj(layer);
        Tensor updated = RankOneUpdate.updated(w, u, r, uf);
        updates.add(
            new LayerUpdate(
                layer,
                weightName,
                u,
                r,
                factor,
                computedFactor,
                opt.divisionFactorOverride().isPresent(),
                v,
                target,
                outAt,
                updated,
                RankOneUpdate.nonFinite(updated)));
        // execute_rome applies each layer's update before computing the next one.
        applied.overwrite(weightName, layer, updated);
      }
    } finally {
      applied.restore();
    }
    log.line("Deltas successfully computed for " + names(updates));
    return new Outcome(request, List.copyOf(updates));
  }

  /**
   * The means over {@code texts} of the down_proj input (k̄) and output (mean of W k_i) at the
   * subject's last token, FP32 (FP64 sums divided by the count, as {@link SubjectKey#mean}, over
   * the same batch: the input mean has the same bits).
   */
  record TemplateMean(float[] input, float[] output) {}

  static TemplateMean templateMean(
      LlamaModel model, Tokenizer tok, Options opt, int layer, List<String> texts, String subject) {
    int n = texts.size();
    int[][] tokens = new int[n][];
    int[] pos = new int[n];
    Hooks hooks = Hooks.none();
    for (int i = 0; i < n; i++) {
      tokens[i] = tok.encode(SubjectPositions.fill(texts.get(i), subject), true, false);
      pos[i] = SubjectPositions.subjectLast(tok, texts.get(i), subject);
      hooks = hooks.captureDownProjInput(layer, i, pos[i]).captureMlpOutput(layer, i, pos[i]);
    }
    SequenceOutput out =
        model.forward(new SequenceBatch(tokens), opt.policy(), opt.ctx(), null, hooks);
    double[] in = null;
    double[] o = null;
    for (int i = 0; i < n; i++) {
      float[] k = out.captured(Hooks.downProjInputKey(layer, i, pos[i]));
      float[] w = out.captured(Hooks.mlpOutputKey(layer, i, pos[i]));
      if (in == null) {
        in = new double[k.length];
        o = new double[w.length];
      }
      for (int j = 0; j < k.length; j++) {
        in[j] += k[j];
      }
      for (int j = 0; j < w.length; j++) {
        o[j] += w[j];
      }
    }
    float[] kMean = new float[in.length];
    float[] oMean = new float[o.length];
    for (int j = 0; j < kMean.length; j++) {
      kMean[j] = (float) (in[j] / n);
    }
    for (int j = 0; j < oMean.length; j++) {
      oMean[j] = (float) (o[j] / n);
    }
    return new TemplateMean(kMean, oMean);
  }

  private static float[] rounded(float[] x, FloatFormat fmt) {
    float[] y = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = fmt.round(x[i]);
    }
    return y;
  }

  /**
   * Writes the updates into the model (even non-finite ones: EasyEdit checks nothing). An edit
   * session writes through {@code RomeEditor} instead, which can also undo the write.
   */
  public static void apply(LlamaModel model, Outcome outcome, EditLog log) {
    for (LayerUpdate l : outcome.layers()) {
      RankOneUpdate.copyInto(l.updated(), model.writableDownProj(l.layer()));
    }
    logInserted(outcome, log);
  }

  /** EasyEdit's line after the new weights are written. */
  static void logInserted(Outcome outcome, EditLog log) {
    log.line("New weights successfully inserted into " + names(outcome.layers()));
  }

  private static String names(List<LayerUpdate> updates) {
    return updates.stream().map(l -> "'" + l.weightName() + "'").toList().toString();
  }

  /**
   * k/‖k‖ with the norm and the division rounded to {@code fmt} (u.norm() and u / norm in torch).
   */
  static float[] unit(float[] k, FloatFormat fmt) {
    float[] kk = new float[k.length];
    for (int i = 0; i < k.length; i++) {
      kk[i] = fmt.round(k[i]);
    }
    double n = fmt.round(norm(kk));
    float[] u = new float[k.length];
    for (int i = 0; i < k.length; i++) {
      u[i] = (float) fmt.round(kk[i] / n);
    }
    return u;
  }

  /**
   * x = C⁻¹k by a Cholesky solve in FP64 (EasyEdit inverts C; a solve is the same map, better
   * conditioned).
   */
  static float[] solve(double[] c, float[] k) {
    int f = k.length;
    if (c.length != (long) f * f) {
      throw new IllegalArgumentException(
          "the key second moment has " + c.length + " entries, expected " + f + "x" + f);
    }
    double[][] m = new double[f][f];
    for (int i = 0; i < f; i++) {
      System.arraycopy(c, i * f, m[i], 0, f);
    }
    double[] b = new double[f];
    for (int i = 0; i < f; i++) {
      b[i] = k[i];
    }
    double[] x = Cholesky.solveSpd(m, b);
    float[] out = new float[f];
    for (int i = 0; i < f; i++) {
      out[i] = (float) x[i];
    }
    return out;
  }

  static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return (float) s; // FP32 accumulation result, then rounded by the caller
  }

  static double norm(float[] x) {
    double s = 0;
    for (float f : x) {
      s += (double) f * f;
    }
    return Math.sqrt(s);
  }

  static boolean allFinite(float[] x) {
    for (float f : x) {
      if (!Float.isFinite(f)) {
        return false;
      }
    }
    return true;
  }
}
