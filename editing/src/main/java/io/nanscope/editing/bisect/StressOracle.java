package io.nanscope.editing.bisect;

import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.repro.StressScenario;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.Rome;
import io.nanscope.editing.rome.RomeEditor;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.EditSession;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.AnomalyTracer;
import io.nanscope.engine.trace.ChainLink;
import io.nanscope.engine.trace.CompositeTracer;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.generate.InvalidDistributionException;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.weights.LlamaWeights;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The stress scenario's failing edit as the bisected run. The sequential edits before it are
 * computed ONCE, in the original policy ({@link #locate}); every trial then runs only that edit —
 * ROME on the edit session, then the 100-token top-5 fluency generation — from the saved weights,
 * in the trial's policy. So a trial widens sites in the failing edit only, not in the edits that
 * led to it: the question answered is "which sites must be wide for this edit, from this state".
 *
 * <p>The fluency sampling continues the located run's stream from where it stood before the edit
 * (its draws are counted and replayed), so the trial in the original policy meets the same
 * generation the sequential run met. A trial is finite when no traced op output (forward, backward
 * or generation) and no update entry went non-finite and the generation did not raise the
 * multinomial error; its metric is the edit's final v* loss.
 */
public final class StressOracle implements Oracle {

  /**
   * The first failing edit of a sequential run and the state before it.
   *
   * @param edit 1-based
   * @param record the request that edit makes
   * @param failure what failed in it
   * @param before the weights before it, in the policy's storage format
   * @param draws fluency draws taken before it
   * @param seconds wall time of the located run
   */
  public record Located(
      int edit,
      EditRequest record,
      String failure,
      LlamaWeights before,
      long draws,
      double seconds) {}

  private final StressScenario.Settings settings;
  private final StressScenario.Prepared prepared;
  private final Located located;

  public StressOracle(
      StressScenario.Settings settings, StressScenario.Prepared prepared, Located located) {
    this.settings = settings;
    this.prepared = prepared;
    this.located = located;
  }

  public Located located() {
    return located;
  }

  /**
   * Runs the sequential edits in {@code policy} (as the stress scenario's main run: records cycled,
   * no restore, fluency generation after each edit) until the first edit that produces a non-finite
   * value, keeping the weights from before each edit.
   *
   * @throws IllegalArgumentException when no edit fails within {@code settings.edits()}
   */
  public static Located locate(
      StressScenario.Settings settings,
      StressScenario.Prepared prepared,
      PrecisionPolicy policy,
      Consumer<String> progress) {
    long t0 = System.nanoTime();
    LlamaModel model = model(prepared.weights(), policy.storage());
    List<EditRequest> requests = new ArrayList<>();
    for (int i = 0; i < settings.edits(); i++) {
      requests.add(settings.records().get(i % settings.records().size()));
    }
    CountingRandom rng = new CountingRandom(settings.seed() + 1);
    LlamaWeights[] before = new LlamaWeights[1];
    long[] draws = new long[1];
    List<Optional<String>> seen =
        runEdits(
            model,
            prepared,
            policy,
            settings,
            requests,
            rng,
            null,
            new Hooks() {
              @Override
              public void beforeEdit(int i) {
                before[0] = model.weights().to(policy.storage());
                draws[0] = rng.draws();
              }

              @Override
              public void afterEdit(int i, Optional<String> problem, String lossLine) {
                progress.accept(
                    String.format(
                        Locale.ROOT,
                        "[locate %s] edit %d/%d: %s%s",
                        policy.name(),
                        i + 1,
                        requests.size(),
                        lossLine,
                        problem.map(p -> " — " + p).orElse("")));
              }
            });
    Optional<String> last = seen.getLast();
    if (last.isEmpty()) {
      throw new IllegalArgumentException(
          "no edit produced a non-finite value in "
              + settings.edits()
              + " sequential edits under "
              + policy.name()
              + ": nothing to bisect (allow more edits with --edits, or raise --mlp-peak)");
    }
    int edit = seen.size();
    return new Located(
        edit,
        requests.get(edit - 1),
        last.get(),
        before[0],
        draws[0],
        (System.nanoTime() - t0) / 1e9);
  }

  @Override
  public String describe() {
    return String.format(
        Locale.ROOT,
        "stress: edit %d (%s -> %s) of a sequential run, bisected from the model state just"
            + " before it (the %d edits before it computed once under the original policy, %.1f"
            + " s); %d context template(s), %d-token fluency generation; first failure: %s",
        located.edit(),
        located.record().subject(),
        located.record().targetNew(),
        located.edit() - 1,
        located.seconds(),
        prepared.templates().templates().size(),
        settings.fluencyTokens(),
        located.failure());
  }

  @Override
  public List<String> sites() {
    return SiteMap.sites(prepared.weights().config().nLayers(), prepared.hp().layers());
  }

  @Override
  public Observation run(PrecisionPolicy policy, boolean traced) {
    LlamaModel model = model(located.before(), policy.storage());
    CountingRandom rng = CountingRandom.at(settings.seed() + 1, located.draws());
    TraceContext tc = new TraceContext();
    StatsTracer stats =
        traced ? new StatsTracer(tc, EnumSet.of(Phase.FORWARD, Phase.BACKWARD)) : null;
    double[] loss = {Double.NaN};
    AnomalyTracer[] anomaly = new AnomalyTracer[1];
    List<Optional<String>> seen =
        runEdits(
            model,
            prepared,
            policy,
            settings,
            List.of(located.record()),
            rng,
            stats,
            new Hooks() {
              @Override
              public void update(WeightUpdate u, AnomalyTracer a) {
                anomaly[0] = a;
                List<TargetValue.Step> steps =
                    RomeEditor.outcome(u).layers().getFirst().value().steps();
                loss[0] = steps.isEmpty() ? Double.NaN : steps.getLast().loss();
              }
            });
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("final loss edit " + located.edit(), loss[0]);
    List<String> born = new ArrayList<>();
    List<String> carried = new ArrayList<>();
    for (ChainLink l : anomaly[0].chain()) {
      String site = l.at().site().name();
      List<String> into = l.origin() ? born : carried;
      if (!into.contains(site)) {
        into.add(site);
      }
    }
    carried.removeAll(born);
    return new Observation(
        seen.getFirst(), metrics, stats == null ? List.of() : stats.bySite(), born, carried);
  }

  private static LlamaModel model(LlamaWeights w, FloatFormat storage) {
    LlamaWeights copy = w.to(storage);
    return LlamaModel.of(copy.config(), copy);
  }

  /** What the edit loop below reports. */
  private interface Hooks {
    default void beforeEdit(int i) {}

    default void update(WeightUpdate u, AnomalyTracer anomaly) {}

    default void afterEdit(int i, Optional<String> problem, String lossLine) {}
  }

  /**
   * The stress scenario's sequential edits on the edit session: ROME, written without restore, then
   * the fluency generation; stops after the first edit with a non-finite value. Returns, per edit
   * run, its first problem.
   */
  private static List<Optional<String>> runEdits(
      LlamaModel model,
      StressScenario.Prepared prepared,
      PrecisionPolicy policy,
      StressScenario.Settings settings,
      List<EditRequest> requests,
      CountingRandom rng,
      StatsTracer stats,
      Hooks hooks) {
    TraceContext tc = new TraceContext();
    AnomalyTracer anomaly = AnomalyTracer.recording(tc);
    Tracer tracer = stats == null ? anomaly : CompositeTracer.of(anomaly, stats);
    OpContext ctx = OpContext.DEFAULT.withThreads(settings.threads()).withTracer(tracer);
    GenerateFast gen = new GenerateFast(model, prepared.tok(), policy, ctx);
    return EditSession.run(
        model,
        new RomeEditor(model, prepared.tok(), prepared.hp(), prepared.templates(), null),
        EditContext.of(policy, ctx, EditLog.NONE).withStages(tc::setLabel),
        new EditSession.Plan(requests, 1, true, false),
        new EditSession.Hooks<Optional<String>>() {
          @Override
          public void beforeEdit(int i) {
            tc.setRecord(i).setStep(-1);
            hooks.beforeEdit(i);
          }

          @Override
          public Optional<String> after(EditSession.Applied a, List<Evaluator.Evaluated> pre) {
            WeightUpdate u = a.update();
            hooks.update(u, anomaly);
            Rome.Outcome out = RomeEditor.outcome(u);
            EditRequest req = a.batch().getFirst();
            List<TargetValue.Step> steps = out.layers().getFirst().value().steps();
            String lossLine =
                steps.isEmpty() ? "" : steps.getLast().logLine(req.forRome().targetNew());
            Optional<String> problem =
                anomaly
                    .first()
                    .map(e -> e.at().context().label() + ": " + e.summary())
                    .or(() -> u.problem().map(p -> "update: " + p.what()));
            if (problem.isEmpty() && settings.fluencyTokens() > 0) {
              tc.setLabel("fluency generation");
              Optional<String> crash = Optional.empty();
              try {
                gen.generateOne(req.filledPrompt(), settings.fluencyTokens(), 5, rng);
              } catch (InvalidDistributionException e) {
                crash = Optional.of("fluency generation: " + e.getMessage());
              }
              Optional<String> raised = crash;
              problem =
                  anomaly
                      .first()
                      .map(e -> e.at().context().label() + ": " + e.summary())
                      .or(() -> raised);
            }
            hooks.afterEdit(a.edit(), problem, lossLine);
            return problem;
          }

          @Override
          public boolean stop(Optional<String> problem) {
            return problem.isPresent();
          }
        });
  }
}
