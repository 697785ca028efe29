package io.nanscope.editing.rome;

import io.nanscope.editing.keys.PyFloat;
import io.nanscope.editing.hparams.ModuleTemplates;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.PyFloat;
import io.nanscope.editing.keys.SubjectKey;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.request.RomeRequest;
import io.nanscope.editing.session.WeightSnapshot;
import io.nanscope.engine.autograd.LossScaler;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.linalg.Cholesky;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
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
 * <p>{@link #compute} never changes the model: it returns the updated weights, and {@link #apply}
 * writes them. Between layers of a multi-layer edit the update is applied temporarily, as
 * execute_rome does, and undone before returning.
 */
public final class Rome {

  private Rome() {}

  /** The stages {@link #compute} reports ({@link Options#withStages}), in EasyEdit's function names. */
  public static final String STAGE_U = "compute_u", STAGE_V = "compute_v", STAGE_KEY = "key at the bare prompt";

  /**
   * How to run one edit.
   *
   * @param policy the precision policy of every forward and backward
   * @param ctx tracer, threads
   * @param divisionFactorOverride a LABELLED intervention: use this kᵀu instead of the computed one
   *     (the "disabling edit" of the reproduction); empty for the faithful algorithm
   * @param listener sees each optimisation step (the precision fallback stops at the first non-finite one)
   * @param dynamicLossScale whether the delta's backward uses a fresh {@link LossScaler} per layer
   *     (GradScaler semantics; not in EasyEdit, off by default)
   * @param stages told each stage's name as the edit enters it ({@link #withStages})
   */
  public record Options(
      PrecisionPolicy policy, OpContext ctx, OptionalDouble divisionFactorOverride,
      TargetValue.StepListener listener, IntFunction<double[]> keySecondMoment,
      boolean dynamicLossScale, Consumer<String> stages) {

    public static Options of(PrecisionPolicy policy, OpContext ctx) {
      return new Options(policy, ctx, OptionalDouble.empty(), TargetValue.StepListener.ALWAYS, null, false,
          stage -> {});
    }

    public Options withDivisionFactor(double value) {
      return new Options(policy, ctx, OptionalDouble.of(value), listener, keySecondMoment, dynamicLossScale, stages);
    }

    public Options withListener(TargetValue.StepListener l) {
      return new Options(policy, ctx, divisionFactorOverride, l, keySecondMoment, dynamicLossScale, stages);
    }

    /**
     * For {@code mom2_adjustment: true}: layer → C = E[k kᵀ] as a row-major F×F array (see
     * {@code stats.KeyStatistics}); u becomes C⁻¹k̄/‖C⁻¹k̄‖, computed by a Cholesky solve in FP64.
     */
    public Options withKeySecondMoment(IntFunction<double[]> c) {
      return new Options(policy, ctx, divisionFactorOverride, listener, c, dynamicLossScale, stages);
    }

    /** GradScaler-style dynamic loss scaling of the delta's backward (a labelled option, not EasyEdit). */
    public Options withDynamicLossScale(boolean on) {
      return new Options(policy, ctx, divisionFactorOverride, listener, keySecondMoment, on, stages);
    }

    /**
     * Told the name of each stage as the edit enters it: {@code compute_u} (the key k̄ and u),
     * {@code compute_v} (the optimisation of v*), {@code key at the bare prompt} (k and W k that r
     * divides by), per layer.
     */
    public Options withStages(Consumer<String> s) {
      return new Options(policy, ctx, divisionFactorOverride, listener, keySecondMoment, dynamicLossScale, s);
    }
  }

  /**
   * One layer's update.
   *
   * @param weightName e.g. {@code model.layers.1.mlp.down_proj.weight}
   * @param u (F) left vector; @param r (C) right vector
   * @param divisionFactor kᵀu as used (the override when there is one)
   * @param computedDivisionFactor kᵀu as computed
   * @param updated the new W_down (C, F), not yet written into the model
   */
  public record LayerUpdate(
      int layer, String weightName, float[] u, float[] r, double divisionFactor,
      double computedDivisionFactor, boolean overridden, TargetValue.Result value, Tensor updated,
      long nonFiniteWeights) {}

  /** Every layer's update for one request. */
  public record Outcome(RomeRequest request, List<LayerUpdate> layers) {

    /** Whether every loss, the delta, the vectors and the new weights are finite. */
    public boolean finite() {
      for (LayerUpdate l : layers) {
        if (l.nonFiniteWeights() > 0 || !allFinite(l.u()) || !allFinite(l.r())
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
      LlamaModel model, Tokenizer tok, RomeHyperParams hp, RomeRequest request,
      ContextTemplates contexts, Options opt, EditLog log) {
    if (hp.secondMoment().adjustment() && opt.keySecondMoment() == null) {
      throw new IllegalArgumentException(
          "mom2_adjustment: true needs the key second moment C of each edited layer: pass it with"
              + " Rome.Options.withKeySecondMoment (the edit command computes it from mom2_dataset)");
    }
    log.line(request.logLine());
    List<LayerUpdate> updates = new ArrayList<>();
    WeightSnapshot applied = WeightSnapshot.of(model);
    FloatFormat fmt = opt.policy().storage();
    try {
      for (int layer : hp.layers().stream().sorted().toList()) {
        String weightName = ModuleTemplates.atLayer(hp.modules().rewriteModule(), layer) + ".weight";
        opt.stages().accept(STAGE_U);
        log.line("Computing left vector (u)...");
        log.line("Selected u projection object " + request.subject());
        float[] kMean = SubjectKey.mean(model, tok, opt.policy(), opt.ctx(), layer,
            contexts.around(request.promptTemplate()), request.subject());
        if (hp.secondMoment().adjustment()) {
          kMean = solve(opt.keySecondMoment().apply(layer), kMean);
        }
        float[] u = unit(kMean, fmt);
        log.line("Left vector shape: (" + u.length + ",)");
        log.line("Computing right vector (v)");
        opt.stages().accept(STAGE_V);
        TargetValue.Result v = TargetValue.optimise(model, tok, opt.policy(), opt.ctx(), layer,
            hp.valueOptimization(), contexts, request.promptTemplate(), request.subject(),
            request.targetNew(), log, opt.listener(), opt.dynamicLossScale() ? new LossScaler() : null);
        opt.stages().accept(STAGE_KEY);
        SubjectKey.AtToken cur = SubjectKey.at(model, tok, opt.policy(), opt.ctx(), layer,
            request.promptTemplate(), request.subject());
        // r = (v* − W k) / (kᵀu), each step rounded to the model's format as torch does in its dtype.
        float[] diff = new float[v.target().length];
        for (int i = 0; i < diff.length; i++) {
          diff[i] = fmt.round(v.target()[i] - cur.output()[i]);
        }
        double computedFactor = fmt.round(dot(cur.input(), u));
        double factor = opt.divisionFactorOverride().orElse(computedFactor);
        float[] r = new float[diff.length];
        for (int i = 0; i < r.length; i++) {
          r[i] = (float) fmt.round(diff[i] / factor);
        }
        log.line("Delta norm: " + PyFloat.repr(fmt.round(norm(diff))));
        double before = fmt.round(norm(v.init()));
        double after = fmt.round(norm(v.target()));
        log.line("Change in target norm: " + PyFloat.repr(before) + " to " + PyFloat.repr(after)
            + " => " + PyFloat.repr(fmt.round(after - before)));
        if (opt.divisionFactorOverride().isPresent()) {
          log.line("Division Factor: " + PyFloat.repr(factor) + "   [OVERRIDE — computed "
              + PyFloat.repr(computedFactor) + "; a labelled intervention, not ROME]");
        } else {
          log.line("Division Factor: " + PyFloat.repr(factor));
        }
        log.line("Right vector norm: " + PyFloat.repr(fmt.round(norm(r))));
        log.line("Right vector shape: (" + r.length + ",)");
        Tensor w = model.writableDownProj(layer);
        Tensor updated = RankOneUpdate.updated(w, u, r);
        updates.add(new LayerUpdate(layer, weightName, u, r, factor, computedFactor,
            opt.divisionFactorOverride().isPresent(), v, updated, RankOneUpdate.nonFinite(updated)));
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

  /** k/‖k‖ with the norm and the division rounded to {@code fmt} (u.norm() and u / norm in torch). */
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

  /** x = C⁻¹k by a Cholesky solve in FP64 (EasyEdit inverts C; a solve is the same map, better conditioned). */
  static float[] solve(double[] c, float[] k) {
    int f = k.length;
    if (c.length != (long) f * f) {
      throw new IllegalArgumentException("the key second moment has " + c.length + " entries, expected " + f + "x" + f);
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
