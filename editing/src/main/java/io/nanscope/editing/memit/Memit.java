package io.nanscope.editing.memit;

import io.nanscope.editing.hparams.MemitHyperParams;
import io.nanscope.editing.hparams.ModuleTemplates;
import io.nanscope.editing.keys.DenseUpdate;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.LayerKeys;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.keys.UpdateSite;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.RomeRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.linalg.Cholesky;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * MEMIT — Mass-Editing Memory in a Transformer (Meng, Sen Sharma, Andonian, Belinkov, Bau, ICLR
 * 2023, §4.3 eq. 14 and Alg. 1), with EasyEdit's semantics (easyeditor/models/memit: execute_memit,
 * compute_z, compute_ks). For a batch of n requests and edit layers l₁ … l_m (z layer L = the
 * last):
 *
 * <pre>
 *   z_j = h_L(j) + δ_j        δ_j optimised at the residual after layer L (ROME's v* objective)
 *   for i, l in enumerate(layers):
 *     K  = keys at l                          (F, n)  down_proj input, template-group means
 *     R  = Z − h_L(current model)             (C, n)  rounded to the storage format
 *     R_l = R / (m − i)                       (C, n)  FP64: the residual spread
 *     ΔW_l = R_l Kᵀ (λC + K Kᵀ)⁻¹             (C, F)  FP64: Cholesky solve of (λC + KKᵀ) X = K
 *     W_l ← round(W_l + ΔW_l)                         before the next layer's keys (restored after)
 * </pre>
 *
 * and finally, as apply_memit_to_model, {@code W_l' = round(W_l + round(ΔW_l))}. λ =
 * mom2_update_weight, C = E[k kᵀ] of layer l. EasyEdit computes K, Z and R in the model dtype and
 * the solve, spread and ΔW in float64; so does this class under every precision policy, and it
 * reports R, the spread, the solve, ΔW and the new weights to the tracer (phase RANK_ONE_UPDATE,
 * the weight-update phase) at {@code layers.l.mlp.down_proj.memit.*} and {@code
 * layers.l.mlp.down_proj.weight}.
 *
 * <p>{@link #compute} leaves the model as it was and returns the new weights; {@link #apply} writes
 * them.
 */
public final class Memit {

  private Memit() {}

  /**
   * How to run one batch.
   *
   * @param policy the precision policy of every forward and backward
   * @param ctx tracer, threads
   * @param keySecondMoment layer → C = E[k kᵀ], (F, F) row-major (EasyEdit's get_cov: always used
   *     by MEMIT, whatever mom2_adjustment says)
   * @param listener sees each z optimisation step
   */
  public record Options(
      PrecisionPolicy policy,
      OpContext ctx,
      IntFunction<double[]> keySecondMoment,
      TargetValue.StepListener listener) {

    public Options {
      Objects.requireNonNull(policy, "policy");
      Objects.requireNonNull(ctx, "ctx");
      Objects.requireNonNull(keySecondMoment, "keySecondMoment: MEMIT needs C of every edit layer");
      Objects.requireNonNull(listener, "listener");
    }

    public static Options of(PrecisionPolicy policy, OpContext ctx, IntFunction<double[]> c) {
      return new Options(policy, ctx, c, TargetValue.StepListener.ALWAYS);
    }

    public Options withListener(TargetValue.StepListener l) {
      return new Options(policy, ctx, keySecondMoment, l);
    }
  }

  /**
   * One layer's update.
   *
   * @param weightName e.g. {@code model.layers.2.mlp.down_proj.weight}
   * @param keys K: (F, n) as used
   * @param spreadResidual R_l = R / (m − i): (C, n), FP64
   * @param delta ΔW: (C, F) row-major, FP64
   * @param updated the new W_down (C, F) = round(W + round(ΔW)), not yet written into the model
   */
  public record LayerUpdate(
      int layer,
      String weightName,
      double[][] keys,
      double[][] spreadResidual,
      double[] delta,
      Tensor updated,
      long nonFiniteWeights) {}

  /**
   * Every layer's update for one batch.
   *
   * @param values z optimisation of each request (in batch order)
   */
  public record Outcome(
      List<RomeRequest> requests, List<TargetValue.Result> values, List<LayerUpdate> layers) {

    /** Whether every loss, z and the new weights are finite. */
    public boolean finite() {
      for (TargetValue.Result v : values) {
        if (v.steps().stream().anyMatch(s -> !s.finite()) || !allFinite(v.target())) {
          return false;
        }
      }
      return layers.stream().allMatch(l -> l.nonFiniteWeights() == 0);
    }
  }

  /** Computes every edit layer's update for the whole batch (the model is left as it was). */
  public static Outcome compute(
      LlamaModel model,
      Tokenizer tok,
      MemitHyperParams hp,
      List<EditRequest> batch,
      TemplateGroups contexts,
      Options opt,
      EditLog log) {
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("MEMIT needs at least one edit request in the batch");
    }
    List<RomeRequest> requests = batch.stream().map(EditRequest::forRome).toList();
    for (RomeRequest r : requests.subList(0, Math.min(10, requests.size()))) {
      log.line("MEMIT request sample: [" + r.prompt() + "] -> [" + r.targetNew() + "]");
    }
    List<Integer> layers = hp.layers();
    int zLayer = layers.getLast();
    List<TargetValue.Result> values =
        LayerKeys.residualTargets(
            model,
            tok,
            opt.policy(),
            opt.ctx(),
            zLayer,
            hp.valueOptimization(),
            contexts,
            requests,
            log,
            opt.listener());
    List<LayerKeys.Prompt> prompts = LayerKeys.prompts(requests);
    int n = requests.size();
    Tracer tracer = opt.ctx().tracer();
    List<LayerUpdate> updates = new ArrayList<>();
    List<Tensor> originals = new ArrayList<>();
    try {
      for (int i = 0; i < layers.size(); i++) {
        int layer = layers.get(i);
        log.line("\n\nLAYER " + layer + "\n");
        double[][] k =
            LayerKeys.keys(model, tok, opt.policy(), opt.ctx(), layer, contexts, prompts);
        log.line("Writing " + n + " key/value pair(s) into layer " + layer);
        double[][] cur = LayerKeys.residuals(model, tok, opt.policy(), opt.ctx(), zLayer, prompts);
        int c = cur.length;
        // R = zs − cur_zs in the model dtype (the update site's format when a policy widens it).
        FloatFormat uf = UpdateSite.format(opt.policy(), layer);
        double[][] r = new double[c][n];
        for (int a = 0; a < c; a++) {
          for (int j = 0; j < n; j++) {
            r[a][j] = uf.round(values.get(j).target()[a] - cur[a][j]);
          }
        }
        log.line("z error " + DenseUpdate.meanColumnNorm(r));
        Site site = Site.of("layers", layer, "mlp", "down_proj");
        double[] cov = opt.keySecondMoment().apply(layer);
        log.line(
            "Retrieving covariance statistics for "
                + hp.modelName()
                + " @ "
                + ModuleTemplates.atLayer(hp.modules().rewriteModule(), layer)
                + ".");
        Update u = update(cov, k, r, hp.mom2UpdateWeight(), layers.size() - i);
        if (tracer.enabled()) {
          report(tracer, site, uf, r, u, k);
        }
        Tensor w = model.writableDownProj(layer);
        log.line("orig norm " + DenseUpdate.frobenius(w.toDoubleArray()));
        log.line("upd norm " + DenseUpdate.frobenius(u.delta()));
        String weightName =
            ModuleTemplates.atLayer(hp.modules().rewriteModule(), layer) + ".weight";
        Tensor updated = DenseUpdate.plus(w, u.delta(), uf);
        if (tracer.enabled()) {
          tracer.record(
              new OpRecord(
                  UpdateSite.of(layer),
                  "memit_update",
                  Phase.RANK_ONE_UPDATE,
                  -1,
                  List.of(w),
                  updated,
                  null));
        }
        updates.add(
            new LayerUpdate(
                layer,
                weightName,
                k,
                u.spread(),
                u.delta(),
                updated,
                DenseUpdate.nonFinite(updated)));
        // execute_memit: updated_weight = W + upd (in float64), copied into the dtype parameter.
        originals.add(w.copy());
        DenseUpdate.copyInto(DenseUpdate.plus(w, u.delta(), false), w);
      }
    } finally {
      for (int i = originals.size() - 1; i >= 0; i--) {
        DenseUpdate.copyInto(originals.get(i), model.writableDownProj(updates.get(i).layer()));
      }
    }
    log.line("Deltas successfully computed for " + names(updates));
    return new Outcome(requests, List.copyOf(values), List.copyOf(updates));
  }

  /** Writes the updates into the model (even non-finite ones: EasyEdit checks nothing). */
  public static void apply(LlamaModel model, Outcome outcome, EditLog log) {
    for (LayerUpdate l : outcome.layers()) {
      DenseUpdate.copyInto(l.updated(), model.writableDownProj(l.layer()));
    }
    log.line("New weights successfully inserted into " + names(outcome.layers()));
  }

  /**
   * The FP64 part of one layer.
   *
   * @param adjK (λC + KKᵀ)⁻¹K: (F, n)
   * @param spread R / divisor: (C, n)
   * @param delta ΔW = spread · adjKᵀ: (C, F) row-major
   */
  record Update(double[][] adjK, double[][] spread, double[] delta) {}

  /**
   * ΔW = (R / divisor) Kᵀ (λC + K Kᵀ)⁻¹ in FP64, by a Cholesky solve of (λC + KKᵀ) X = K (EasyEdit:
   * {@code torch.linalg.solve(λ·cov.double() + K Kᵀ, K)}, then {@code resid @ adj_kᵀ}).
   *
   * @param cov C: (F, F) row-major; @param k K: (F, n); @param r R: (C, n)
   */
  static Update update(double[] cov, double[][] k, double[][] r, double lambda, int divisor) {
    int f = k.length;
    int n = k[0].length;
    int c = r.length;
    if (cov.length != (long) f * f) {
      throw new IllegalArgumentException(
          "the key second moment has "
              + cov.length
              + " entries, expected "
              + f
              + "x"
              + f
              + " (the down_proj input width of this model)");
    }
    double[][] a = new double[f][f];
    for (int p = 0; p < f; p++) {
      for (int q = 0; q < f; q++) {
        double kk = 0;
        for (int j = 0; j < n; j++) {
          kk += k[p][j] * k[q][j];
        }
        a[p][q] = lambda * cov[p * f + q] + kk;
      }
    }
    double[][] adjK = Cholesky.solveSpd(a, k);
    double[][] spread = new double[c][n];
    for (int p = 0; p < c; p++) {
      for (int j = 0; j < n; j++) {
        spread[p][j] = r[p][j] / divisor;
      }
    }
    double[] delta = new double[c * f];
    for (int p = 0; p < c; p++) {
      for (int q = 0; q < f; q++) {
        double sum = 0;
        for (int j = 0; j < n; j++) {
          sum += spread[p][j] * adjK[q][j];
        }
        delta[p * f + q] = sum;
      }
    }
    return new Update(adjK, spread, delta);
  }

  private static void report(
      Tracer tracer, Site site, FloatFormat s, double[][] r, Update u, double[][] k) {
    Site m = site.child("memit");
    Tensor rT = DenseUpdate.matrix(s, r);
    Tensor kT = DenseUpdate.matrix(s, k);
    tracer.record(
        new OpRecord(
            m.child("residual_spread"),
            "div",
            Phase.RANK_ONE_UPDATE,
            -1,
            List.of(rT),
            DenseUpdate.matrix(FloatFormat.FP64, u.spread()),
            null));
    tracer.record(
        new OpRecord(
            m.child("covariance_solve"),
            "cholesky_solve",
            Phase.RANK_ONE_UPDATE,
            -1,
            List.of(kT),
            DenseUpdate.matrix(FloatFormat.FP64, u.adjK()),
            null));
    int c = r.length;
    int f = k.length;
    tracer.record(
        new OpRecord(
            m.child("delta"),
            "matmul",
            Phase.RANK_ONE_UPDATE,
            -1,
            List.of(),
            Tensor.ofDoubles(FloatFormat.FP64, Shape.of(c, f), u.delta()),
            null));
  }

  private static String names(List<LayerUpdate> updates) {
    return updates.stream().map(l -> "'" + l.weightName() + "'").toList().toString();
  }

  private static boolean allFinite(float[] x) {
    for (float f : x) {
      if (!Float.isFinite(f)) {
        return false;
      }
    }
    return true;
  }
}
