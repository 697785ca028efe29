package io.nanscope.editing.repro;

import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.UpdateSite;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.Rome;
import io.nanscope.editing.session.WeightSnapshot;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.generate.InvalidDistributionException;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The disabling edit swept over the Division Factor: for each precision, one faithful ROME edit of
 * the first record (v* and u do not depend on kᵀu), then for each override value the right vector
 * and rank-one update ({@link RankOneStep}) and, if the new weights are finite, the fluency
 * generation of the record's prompt on the edited model, traced. The answer per value and precision
 * is the first place a non-finite value appears (rank-one update, or which op in the generation)
 * and whether the multinomial error fires — so the threshold is visible, not one lucky setting.
 *
 * <p>Differs from the full pipeline in one way, stated: only the generation is run after the update
 * (no teacher-forced probes first), so the first op is reported in phase generation.
 */
public final class DivisionFactorSweep {

  private DivisionFactorSweep() {}

  /** The default sweep (findings Part A: threshold ≈ 6.1e-5 at layer 1, 1e-4 still finite). */
  public static final List<Double> DEFAULT_VALUES =
      List.of(1e-3, 3e-4, 1e-4, 8e-5, 6e-5, 5e-5, 4e-5, 3e-5, 1e-5);

  /**
   * One value in one precision.
   *
   * @param firstNonFinite where the first NaN/inf appeared ("-" when none)
   * @param multinomialError whether the generation raised the multinomial error
   * @param maxAbsWeight max|W_down'| of the new weights (finite entries)
   * @param nonFiniteWeights NaN/inf entries of the new weights
   */
  public record Cell(
      double value,
      String policy,
      String firstNonFinite,
      boolean multinomialError,
      double maxAbsWeight,
      long nonFiniteWeights) {

    public boolean failed() {
      return !firstNonFinite.equals("-");
    }
  }

  /** The computed kᵀu per policy and every cell, value-major. */
  public record Result(
      List<String> policies, List<Double> values, List<Double> computedFactors, List<Cell> cells) {

    public Cell cell(int value, int policy) {
      return cells.get(value * policies.size() + policy);
    }

    /** A table: one line per value, one column per precision, plus the first failing precision. */
    public String table() {
      List<String[]> rows = new ArrayList<>();
      String[] head = new String[policies.size() + 2];
      head[0] = "kᵀu override";
      for (int p = 0; p < policies.size(); p++) {
        head[p + 1] =
            ReproPipeline.shortName(policies.get(p))
                + String.format(Locale.ROOT, " (computed %.4g)", computedFactors.get(p));
      }
      head[head.length - 1] = "fails in";
      rows.add(head);
      for (int v = 0; v < values.size(); v++) {
        String[] row = new String[head.length];
        row[0] = String.format(Locale.ROOT, "%.0e", values.get(v));
        List<String> failing = new ArrayList<>();
        for (int p = 0; p < policies.size(); p++) {
          Cell c = cell(v, p);
          row[p + 1] =
              c.failed()
                  ? c.firstNonFinite() + (c.multinomialError() ? " -> multinomial error" : "")
                  : "finite (max|W'| " + ReproReport.num(c.maxAbsWeight()) + ")";
          if (c.failed()) {
            failing.add(ReproPipeline.shortName(policies.get(p)));
          }
        }
        row[head.length - 1] = failing.isEmpty() ? "none" : String.join(", ", failing);
        rows.add(row);
      }
      return ReproReport.align(rows);
    }
  }

  /**
   * Runs the sweep on {@code request} (single-layer hparams only) for built-in policies by name.
   */
  public static Result run(
      ReproPipeline.ModelSource source,
      Tokenizer tok,
      RomeHyperParams hp,
      ContextTemplates templates,
      EditRequest request,
      List<String> policies,
      List<Double> values,
      long seed,
      int threads)
      throws IOException {
    return runPolicies(
        source,
        tok,
        hp,
        templates,
        request,
        policies.stream().map(PrecisionPolicy::named).toList(),
        values,
        seed,
        threads);
  }

  /** Runs the sweep on {@code request} (single-layer hparams only). */
  public static Result runPolicies(
      ReproPipeline.ModelSource source,
      Tokenizer tok,
      RomeHyperParams hp,
      ContextTemplates templates,
      EditRequest request,
      List<PrecisionPolicy> policies,
      List<Double> values,
      long seed,
      int threads)
      throws IOException {
    if (hp.layers().size() != 1) {
      throw new IllegalArgumentException(
          "the Division Factor sweep edits one layer; the hparams edit layers " + hp.layers());
    }
    int layer = hp.layers().getFirst();
    List<Cell> cells = new ArrayList<>();
    Cell[][] grid = new Cell[values.size()][policies.size()];
    List<Integer> columns = new ArrayList<>();
    for (int p = 0; p < policies.size(); p++) {
      columns.add(p);
    }
    // each precision is an independent run (its own model and tracer): side by side
    List<Double> computed =
        SideBySide.map(
            columns,
            Runtime.getRuntime().availableProcessors(),
            line -> {},
            line -> {},
            (p, out, err) -> {
              PrecisionPolicy policy = policies.get(p);
              LlamaModel model = source.load(policy.storage());
              OpContext quiet = OpContext.DEFAULT.withThreads(threads);
              Rome.Outcome o =
                  Rome.compute(
                      model,
                      tok,
                      hp,
                      request.forRome(),
                      templates,
                      Rome.Options.of(policy, quiet),
                      EditLog.NONE);
              Rome.LayerUpdate l = o.layers().getFirst();
              Tensor w = model.writableDownProj(layer);
              for (int v = 0; v < values.size(); v++) {
                RankOneStep step =
                    RankOneStep.of(
                        layer,
                        l.target(),
                        l.keyOutput(),
                        l.u(),
                        values.get(v),
                        w,
                        UpdateSite.format(policy, layer));
                double maxW = maxAbsFinite(step.updated());
                if (step.nonFiniteWeights() > 0 || ReproPipeline.countNonFinite(step.r()) > 0) {
                  String what =
                      step.nonFiniteWeights() > 0
                          ? "rank-one update (" + step.nonFiniteWeights() + " NaN/inf weights)"
                          : "rank-one update (r non-finite)";
                  grid[v][p] =
                      new Cell(
                          values.get(v), policy.name(), what, false, maxW, step.nonFiniteWeights());
                  continue;
                }
                WeightSnapshot applied = WeightSnapshot.of(model);
                applied.overwrite(l.weightName(), layer, step.updated());
                try {
                  ReproTracer tracer =
                      new ReproTracer(
                          new TraceContext(), ReproPipeline.shortName(policy.name()), false);
                  tracer.stage(ReproTracer.Stage.GENERATION);
                  GenerateFast gen = new GenerateFast(model, tok, policy, quiet.withTracer(tracer));
                  boolean error = false;
                  try {
                    gen.generateOne(request.filledPrompt(), 100, 5, new SplittableRandom(seed + 1));
                  } catch (InvalidDistributionException e) {
                    error = true;
                  }
                  String where =
                      tracer.anomaly().first().map(DivisionFactorSweep::where).orElse("-");
                  grid[v][p] = new Cell(values.get(v), policy.name(), where, error, maxW, 0);
                } finally {
                  applied.restore();
                }
              }
              return l.computedDivisionFactor();
            });
    for (Cell[] row : grid) {
      cells.addAll(List.of(row));
    }
    return new Result(
        policies.stream().map(PrecisionPolicy::name).toList(),
        List.copyOf(values),
        computed,
        cells);
  }

  private static String where(FirstNonFinite e) {
    return (e.newInf() ? "inf" : "NaN")
        + " at "
        + e.at().phaseName()
        + " "
        + e.at().site()
        + " ("
        + e.at().op()
        + ")";
  }

  private static double maxAbsFinite(Tensor t) {
    double m = 0;
    for (long i = 0; i < t.size(); i++) {
      double x = Math.abs(t.getDouble(i));
      if (Double.isFinite(x)) {
        m = Math.max(m, x);
      }
    }
    return m;
  }
}
