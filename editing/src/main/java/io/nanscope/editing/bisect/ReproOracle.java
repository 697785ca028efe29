package io.nanscope.editing.bisect;

import io.nanscope.editing.eval.EditMetrics;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.OptimiserStateSite;
import io.nanscope.editing.repro.RecordOutcome;
import io.nanscope.editing.repro.ReproPipeline;
import io.nanscope.editing.repro.RunResult;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.ChainLink;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@code repro} scenario ({@code natural} or {@code disabling-edit}) as the bisected run: every
 * trial is one {@link ReproPipeline#run} in the trial's policy, the same pipeline {@code repro}
 * runs (pre-edit metrics, the edits on the edit session, post-edit metrics with the fluency
 * generation, the probe-story NLL). The context templates are sampled once and shared.
 *
 * <p>A trial is finite when no traced op output, right vector or update entry went non-finite, the
 * run did not crash (the multinomial error), no weight ended non-finite, and every probe-story NLL
 * is finite. Its metrics, per edit: the final v* loss, the mean rewrite accuracy and the mean
 * locality.
 */
public final class ReproOracle implements Oracle {

  private final String scenario;
  private final ReproPipeline.ModelSource source;
  private final Tokenizer tok;
  private final ReproPipeline.Settings settings;
  private final List<String> sites;
  private final String algorithm;
  private final ReproPipeline.EditorFactory factory;

  /**
   * ROME ({@link ReproPipeline.Settings#hp}).
   *
   * @param scenario the scenario's name, for the description
   * @param layers the model's layer count (its site map)
   */
  public ReproOracle(
      String scenario,
      ReproPipeline.ModelSource source,
      Tokenizer tok,
      ReproPipeline.Settings settings,
      int layers) {
    this(
        scenario,
        source,
        tok,
        settings,
        SiteMap.sites(layers, settings.hp().layers()),
        settings.hp().algName(),
        null);
  }

  /**
   * Any algorithm: {@code factory} makes its editor for each trial's model (null: ROME with {@link
   * ReproPipeline.Settings#hp}), as {@code repro --alg} runs it.
   *
   * @param sites the run's site map ({@link SiteMap#sites(int, java.util.Collection, List)}: the
   *     update sites of the layers the algorithm writes, its optimiser state sites)
   * @param algorithm its name, for the description
   */
  public ReproOracle(
      String scenario,
      ReproPipeline.ModelSource source,
      Tokenizer tok,
      ReproPipeline.Settings settings,
      List<String> sites,
      String algorithm,
      ReproPipeline.EditorFactory factory) {
    this.scenario = scenario;
    this.source = source;
    this.tok = tok;
    this.settings = settings;
    this.sites = List.copyOf(sites);
    this.algorithm = algorithm;
    this.factory = factory;
  }

  @Override
  public String describe() {
    return scenario
        + " ("
        + algorithm
        + "): "
        + settings.records().size()
        + " record(s), "
        + (settings.sequential() ? "sequential" : "single")
        + " edits, "
        + (settings.templates() != null
            ? settings.templates().templates().size() + " context template(s)"
            : "the algorithm's context templates")
        + settings.divisionFactorOverride().stream()
            .mapToObj(f -> ", labelled k.u override " + f + " on the first record")
            .findFirst()
            .orElse("")
        + (settings.fluency() ? ", fluency generation after each edit" : ", no fluency")
        + "; each trial is the whole repro pipeline in the trial's policy";
  }

  @Override
  public List<String> sites() {
    return sites;
  }

  @Override
  public Observation run(PrecisionPolicy policy, boolean traced) {
    ReproPipeline.Settings s = settings;
    ReproPipeline.Settings run =
        new ReproPipeline.Settings(
            s.hp(),
            s.records(),
            s.templates(),
            s.seed(),
            s.threads(),
            s.fluency(),
            s.sequential(),
            s.divisionFactorOverride(),
            traced,
            s.dynamicLossScale());
    RunResult r;
    try {
      r =
          ReproPipeline.run(
              source, tok, run, ReproPipeline.Mode.fixed(policy), EditLog.NONE, factory);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return observe(r);
  }

  static Observation observe(RunResult r) {
    Optional<String> problem =
        r.anomaly()
            .first()
            .map(e -> e.summary())
            .or(r::firstEditProblem)
            .or(() -> r.firstFailure().map(RecordOutcome.Failure::describe));
    if (problem.isEmpty() && r.totalNonFiniteWeights() > 0) {
      problem = Optional.of(r.totalNonFiniteWeights() + " non-finite weights at the end");
    }
    if (problem.isEmpty()) {
      for (RecordOutcome o : r.records()) {
        if (Double.isNaN(o.storyNll())) {
          problem = Optional.of("edit " + o.index() + ": the probe-story NLL is not finite");
          break;
        }
      }
    }
    Map<String, Double> metrics = new LinkedHashMap<>();
    for (RecordOutcome o : r.records()) {
      metrics.put("final loss edit " + o.index(), o.finalLoss());
      metrics.put(
          "rewrite acc edit " + o.index(),
          o.post().map(m -> mean(m.rewriteAcc())).orElse(Double.NaN));
      metrics.put(
          "locality edit " + o.index(), o.post().map(ReproOracle::locality).orElse(Double.NaN));
    }
    List<String> born = new ArrayList<>();
    List<String> carried = new ArrayList<>();
    for (ChainLink l : r.anomaly().chain()) {
      String site = OptimiserStateSite.policySite(l.at().site().name());
      if (l.origin()) {
        if (!born.contains(site)) {
          born.add(site);
        }
      } else if (!carried.contains(site)) {
        carried.add(site);
      }
    }
    carried.removeAll(born);
    return new Observation(problem, metrics, r.headroom(), born, carried);
  }

  private static double locality(EditMetrics m) {
    List<Double> all = new ArrayList<>();
    m.locality().values().forEach(all::addAll);
    return all.isEmpty() ? Double.NaN : mean(all);
  }

  private static double mean(List<Double> v) {
    return v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }
}
