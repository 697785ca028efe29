package io.nanscope.editing.alphaedit;

import io.nanscope.editing.hparams.AlphaEditHyperParams;
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
import io.nanscope.engine.linalg.LuSolve;
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
 * AlphaEdit — null-space constrained knowledge editing (Fang, Jiang, Wang, Ma, Shi, Wang, He, Chua,
 * ICLR 2025, eq. 14), with EasyEdit's semantics (easyeditor/models/alphaedit/AlphaEdit_main.py). z
 * and the keys are MEMIT's (residual z at the last edit layer L, template-group mean keys); per
 * edit layer l (i-th of m):
 *
 * <pre>
 *   R_l = (Z − h_L(current model)) / (m − i)                      (C, n)
 *   X   = solve(P (K Kᵀ + K_p K_pᵀ) + α I,  P K R_lᵀ)              (F, C)   LU, FP64
 *   ΔW_l = Xᵀ = R_l Kᵀ P ((K Kᵀ + K_p K_pᵀ) P + α I)⁻¹            (C, F)
 *   W_l ← round(W_l + ΔW_l)                                        before the next layer (restored after)
 * </pre>
 *
 * P = the null-space projector of layer l's C ({@link NullSpaceProjector}), K_p the keys of earlier
 * edits ({@link PreservedKeys}), α = {@code L2}. P multiplies from the left inside the solve, so X
 * = P (K Rᵀ − (K Kᵀ + K_p K_pᵀ) X) / α lies in the range of P, hence ΔW = ΔW P and ΔW k = 0 for
 * every key k with P k = 0: the preserved keys' outputs do not move. EasyEdit solves in float32
 * ({@code .float()}); this class in FP64 (it cannot reproduce LAPACK's float32 rounding anyway).
 * Reported to the tracer like MEMIT: {@code layers.l.mlp.down_proj.alphaedit.*} and {@code
 * layers.l.mlp.down_proj.weight}.
 *
 * <p>{@link #compute} leaves the model and the preserved keys as they were; {@link #apply} writes
 * the weights and adds the batch's keys to the preserved keys.
 */
public final class AlphaEdit {

  private AlphaEdit() {}

  /**
   * How to run one batch.
   *
   * @param keySecondMoment layer → C = E[k kᵀ], (F, F) row-major, for the projector
   */
  public record Options(
      PrecisionPolicy policy,
      OpContext ctx,
      IntFunction<double[]> keySecondMoment,
      TargetValue.StepListener listener) {

    public Options {
      Objects.requireNonNull(policy, "policy");
      Objects.requireNonNull(ctx, "ctx");
      Objects.requireNonNull(
          keySecondMoment, "keySecondMoment: AlphaEdit needs C of every edit layer");
      Objects.requireNonNull(listener, "listener");
    }

    public static Options of(PrecisionPolicy policy, OpContext ctx, IntFunction<double[]> c) {
      return new Options(policy, ctx, c, TargetValue.StepListener.ALWAYS);
    }
  }

  /**
   * One layer's update.
   *
   * @param keys K: (F, n), kept for {@link PreservedKeys} by {@link #apply}
   * @param projector P of this layer
   * @param delta ΔW: (C, F) row-major, FP64
   * @param updated round(W + round(ΔW)), not yet written
   */
  public record LayerUpdate(
      int layer,
      String weightName,
      double[][] keys,
      NullSpaceProjector projector,
      double[] delta,
      Tensor updated,
      long nonFiniteWeights) {}

  /** Every layer's update for one batch. */
  public record Outcome(
      List<RomeRequest> requests, List<TargetValue.Result> values, List<LayerUpdate> layers) {

    public boolean finite() {
      for (TargetValue.Result v : values) {
        if (v.steps().stream().anyMatch(s -> !s.finite())) {
          return false;
        }
        for (float x : v.target()) {
          if (!Float.isFinite(x)) {
            return false;
          }
        }
      }
      return layers.stream().allMatch(l -> l.nonFiniteWeights() == 0);
    }
  }

  /**
   * Computes the batch's update of every layer of {@code hp.layers()}.
   *
   * @param projectors layer → P (compute once per layer with {@link NullSpaceProjector#of};
   *     EasyEdit caches them in P_loc)
   * @param preserved the keys of earlier edits (read only here)
   */
  public static Outcome compute(
      LlamaModel model,
      Tokenizer tok,
      AlphaEditHyperParams hp,
      List<EditRequest> batch,
      TemplateGroups contexts,
      IntFunction<NullSpaceProjector> projectors,
      PreservedKeys preserved,
      Options opt,
      EditLog log) {
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("AlphaEdit needs at least one edit request in the batch");
    }
    List<RomeRequest> requests = batch.stream().map(EditRequest::forRome).toList();
    for (RomeRequest r : requests) {
      log.line(
          "Executing AlphaEdit algo for: [" + r.promptTemplate() + "] -> [" + r.targetNew() + "]");
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
    FloatFormat s = opt.policy().storage();
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
        int f = k.length;
        // targets = zs − cur_zs and resid = targets / (m − i), both in the model dtype (the update
        // site's format when a policy widens it).
        FloatFormat uf = UpdateSite.format(opt.policy(), layer);
        double[][] r = new double[c][n];
        double[][] spread = new double[c][n];
        for (int a = 0; a < c; a++) {
          for (int j = 0; j < n; j++) {
            r[a][j] = uf.round(values.get(j).target()[a] - cur[a][j]);
            spread[a][j] = uf.round(r[a][j] / (layers.size() - i));
          }
        }
        log.line("z error " + DenseUpdate.meanColumnNorm(r));
        NullSpaceProjector proj = projectors.apply(layer);
        if (proj.p().length != f) {
          throw new IllegalArgumentException(
              "the projector of layer "
                  + layer
                  + " is "
                  + proj.p().length
                  + "x"
                  + proj.p().length
                  + " but the keys have "
                  + f
                  + " dimensions");
        }
        double[][] x = solve(proj.p(), k, preserved.gram(layer, f), spread, hp.l2());
        double[] delta = new double[c * f];
        for (int a = 0; a < c; a++) {
          for (int q = 0; q < f; q++) {
            delta[a * f + q] = x[q][a];
          }
        }
        Site site = Site.of("layers", layer, "mlp", "down_proj");
        Tensor w = model.writableDownProj(layer);
        log.line("orig norm " + DenseUpdate.frobenius(w.toDoubleArray()));
        log.line("upd norm " + DenseUpdate.frobenius(delta));
        Tensor updated = DenseUpdate.plus(w, delta, uf);
        if (tracer.enabled()) {
          Site a = site.child("alphaedit");
          tracer.record(
              new OpRecord(
                  a.child("residual_spread"),
                  "div",
                  Phase.RANK_ONE_UPDATE,
                  -1,
                  List.of(DenseUpdate.matrix(uf, r)),
                  DenseUpdate.matrix(uf, spread),
                  null));
          tracer.record(
              new OpRecord(
                  a.child("projected_solve"),
                  "lu_solve",
                  Phase.RANK_ONE_UPDATE,
                  -1,
                  List.of(DenseUpdate.matrix(s, k)),
                  Tensor.ofDoubles(FloatFormat.FP64, Shape.of(c, f), delta),
                  null));
          tracer.record(
              new OpRecord(
                  UpdateSite.of(layer),
                  "alphaedit_update",
                  Phase.RANK_ONE_UPDATE,
                  -1,
                  List.of(w),
                  updated,
                  null));
        }
        String weightName =
            ModuleTemplates.atLayer(hp.modules().rewriteModule(), layer) + ".weight";
        updates.add(
            new LayerUpdate(
                layer, weightName, k, proj, delta, updated, DenseUpdate.nonFinite(updated)));
        originals.add(w.copy());
        DenseUpdate.copyInto(DenseUpdate.plus(w, delta, false), w);
      }
    } finally {
      for (int i = originals.size() - 1; i >= 0; i--) {
        DenseUpdate.copyInto(originals.get(i), model.writableDownProj(updates.get(i).layer()));
      }
    }
    log.line("Deltas successfully computed for " + names(updates));
    return new Outcome(requests, List.copyOf(values), List.copyOf(updates));
  }

  /**
   * Writes the updates and keeps the batch's keys. EasyEdit recomputes the keys after all layers
   * are updated; the keys at layer l depend only on the layers before l, which are then updated in
   * both cases, so they are the keys used for l's update.
   */
  public static void apply(
      LlamaModel model, Outcome outcome, PreservedKeys preserved, EditLog log) {
    for (LayerUpdate l : outcome.layers()) {
      DenseUpdate.copyInto(l.updated(), model.writableDownProj(l.layer()));
      preserved.add(l.layer(), l.keys());
    }
    log.line("New weights successfully inserted into " + names(outcome.layers()));
  }

  /**
   * X = (P (K Kᵀ + G) + α I)⁻¹ P K Rᵀ in FP64.
   *
   * @param p P: (F, F); @param k K: (F, n); @param g K_p K_pᵀ: (F, F); @param r R: (C, n)
   * @return X: (F, C)
   */
  static double[][] solve(double[][] p, double[][] k, double[][] g, double[][] r, double alpha) {
    int f = k.length;
    int n = k[0].length;
    int c = r.length;
    double[][] m = new double[f][f]; // K Kᵀ + G
    for (int a = 0; a < f; a++) {
      for (int b = 0; b < f; b++) {
        double s = g[a][b];
        for (int j = 0; j < n; j++) {
          s += k[a][j] * k[b][j];
        }
        m[a][b] = s;
      }
    }
    double[][] lhs = multiply(p, m);
    for (int a = 0; a < f; a++) {
      lhs[a][a] += alpha;
    }
    double[][] kr = new double[f][c]; // K Rᵀ
    for (int a = 0; a < f; a++) {
      for (int b = 0; b < c; b++) {
        double s = 0;
        for (int j = 0; j < n; j++) {
          s += k[a][j] * r[b][j];
        }
        kr[a][b] = s;
      }
    }
    return LuSolve.solve(lhs, multiply(p, kr));
  }

  static double[][] multiply(double[][] a, double[][] b) {
    int rows = a.length;
    int inner = b.length;
    int cols = b[0].length;
    double[][] out = new double[rows][cols];
    for (int i = 0; i < rows; i++) {
      for (int l = 0; l < inner; l++) {
        double x = a[i][l];
        if (x == 0) {
          continue;
        }
        for (int j = 0; j < cols; j++) {
          out[i][j] += x * b[l][j];
        }
      }
    }
    return out;
  }

  private static String names(List<LayerUpdate> updates) {
    return updates.stream().map(l -> "'" + l.weightName() + "'").toList().toString();
  }
}
