package io.nanscope.editing.repro;

import io.nanscope.editing.alphaedit.AlphaEdit;
import io.nanscope.editing.eval.EditMetrics;
import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.eval.ModelProbes;
import io.nanscope.editing.finetune.FineTune;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.keys.UpdateSite;
import io.nanscope.editing.memit.Memit;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.RankOneUpdate;
import io.nanscope.editing.rome.Rome;
import io.nanscope.editing.rome.RomeEditor;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.EditSession;
import io.nanscope.editing.session.Editor;
import io.nanscope.editing.session.PrecisionFallback;
import io.nanscope.editing.session.WeightSnapshot;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.generate.InvalidDistributionException;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.WeightNames;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * The KnowEdit-style ROME pipeline of {@code run_knowedit_llama2.py} in one precision: pre-edit
 * metrics of every record, then per record: ROME edit → post-edit metrics including the fluency
 * generation (top-5 multinomial, where the fp16 bug crashes) → restore (single edits) or keep
 * (sequential). Everything the run does is traced ({@link ReproTracer}): the first non-finite value
 * and the chain after it, and the per-site headroom of the edit.
 *
 * <p>Where EasyEdit stops at the multinomial error, this pipeline records the failure and carries
 * on with the next record, so the log shows what the following edit does on the broken model.
 *
 * <p>{@link Mode#auto} is the transactional precision fallback: the edit runs in FP16; the loss and
 * δ are checked at every step (a non-finite gradient shows in δ after Adam's step), and r and the
 * new weights after the edit; at the first non-finite value the attempt is dropped (the weights
 * were never touched: {@code Rome.compute} does not write) and the whole edit is redone in the
 * fallback precision. An update is written only when it, r, kᵀu and every loss are finite;
 * otherwise it is refused and the weights stay as they were. A generation that fails in FP16 is
 * redone in the fallback precision.
 */
public final class ReproPipeline {

  private ReproPipeline() {}

  /** Loads the model with its weights stored in a format (one fresh model per precision run). */
  @FunctionalInterface
  public interface ModelSource {
    LlamaModel load(FloatFormat storage) throws IOException;
  }

  /**
   * Builds the editor of one precision run on that run's fresh model, for an algorithm other than
   * ROME (MEMIT, AlphaEdit, FT): its forward and backward passes and its own sites (MEMIT: the
   * residual spread and the covariance solve) report to the tracer through {@code
   * EditContext.ops()}. The pipeline wraps it in the {@link PrecisionFallback}.
   */
  @FunctionalInterface
  public interface EditorFactory {
    Editor create(LlamaModel model, Tokenizer tok);
  }

  /**
   * What to run.
   *
   * @param hp ROME's (or R-ROME's) hyperparameters; null when the run is given an {@link
   *     EditorFactory}
   * @param templates ROME's context templates (null with an {@link EditorFactory}), the same for
   *     every precision (so runs differ only in the edit's numerics)
   * @param seed seed of the fluency sampling (seed + 1, as {@code edit})
   * @param fluency whether to run the fluency generation
   * @param sequential keep every edit (EasyEdit's behaviour in June 2024) instead of restoring
   * @param divisionFactorOverride a LABELLED override of kᵀu applied to the FIRST record only (the
   *     disabling edit); the records after it are faithful ROME edits of the edited model
   * @param collectStats keep per-site stats of the edits (the headroom report)
   * @param dynamicLossScale dynamic loss scaling of the delta's backward (GradScaler; not in
   *     EasyEdit)
   */
  public record Settings(
      RomeHyperParams hp,
      List<EditRequest> records,
      ContextTemplates templates,
      long seed,
      int threads,
      boolean fluency,
      boolean sequential,
      OptionalDouble divisionFactorOverride,
      boolean collectStats,
      boolean dynamicLossScale) {

    public Settings {
      records = List.copyOf(records);
      if (records.isEmpty()) {
        throw new IllegalArgumentException(
            "no edit records to run: pass a data file with at least one record");
      }
      if (divisionFactorOverride.isPresent()
          && !(divisionFactorOverride.getAsDouble() != 0
              && Double.isFinite(divisionFactorOverride.getAsDouble()))) {
        throw new IllegalArgumentException(
            "the Division Factor override must be finite and non-zero, got "
                + divisionFactorOverride.getAsDouble());
      }
    }
  }

  /**
   * A fixed precision policy, or the FP16 policy with a fallback.
   *
   * @param policy e.g. {@code pytorch-fp16}, or a custom policy read from YAML
   * @param fallback the fallback policy for auto, empty otherwise
   */
  public record Mode(
      PrecisionPolicy policy, Optional<PrecisionPolicy> fallback, boolean allowUnsafeEdits) {

    /**
     * With a fallback, an edit the edit-safety check predicts will overflow downstream is refused
     * ({@link EditSafety#checked}); {@link #allowingUnsafeEdits} writes it with a warning instead.
     */
    public Mode(PrecisionPolicy policy, Optional<PrecisionPolicy> fallback) {
      this(policy, fallback, false);
    }

    /** The explicit opt-out of the refusal: predicted overflows are only warned about. */
    public Mode allowingUnsafeEdits() {
      return new Mode(policy, fallback, true);
    }

    /** A built-in policy by name (fails early on a bad name). */
    public static Mode fixed(String policy) {
      return fixed(PrecisionPolicy.named(policy));
    }

    public static Mode fixed(PrecisionPolicy policy) {
      return new Mode(policy, Optional.empty());
    }

    /** FP16 ({@code pytorch-fp16}) with {@code fallback} ({@code fp32} or {@code pytorch-bf16}). */
    public static Mode auto(String fallback) {
      return new Mode(
          PrecisionPolicy.named("pytorch-fp16"), Optional.of(PrecisionPolicy.named(fallback)));
    }

    /** {@code fp16}, {@code bf16}, {@code fp32}, or {@code auto (fp16 -> fp32)}. */
    public String label() {
      return fallback
          .map(f -> "auto (" + shortName(policy.name()) + " -> " + shortName(f.name()) + ")")
          .orElse(shortName(policy.name()));
    }
  }

  /** {@code pytorch-fp16} → {@code fp16}. */
  public static String shortName(String policy) {
    return PrecisionFallback.shortName(policy);
  }

  /** Runs the pipeline with ROME ({@link Settings#hp}). */
  public static RunResult run(ModelSource source, Tokenizer tok, Settings s, Mode mode, EditLog log)
      throws IOException {
    return run(source, tok, s, mode, log, null);
  }

  /**
   * Runs the pipeline; {@code log} receives EasyEdit's log lines and the fallback lines.
   *
   * @param algorithm the editor of an algorithm other than ROME, or null for ROME with {@link
   *     Settings#hp} (its right vectors and rank-one updates reported to the tracer)
   */
  public static RunResult run(
      ModelSource source,
      Tokenizer tok,
      Settings s,
      Mode mode,
      EditLog log,
      EditorFactory algorithm)
      throws IOException {
    PrecisionPolicy policy = mode.policy();
    PrecisionPolicy fallback = mode.fallback().orElse(null);
    LlamaModel model = source.load(policy.storage());
    TraceContext tc = new TraceContext();
    ReproTracer tracer = new ReproTracer(tc, mode.label(), s.collectStats());
    tracer.anomaly().tokenText(tok::piece);
    OpContext ctx = OpContext.DEFAULT.withThreads(s.threads()).withTracer(tracer);
    SplittableRandom fluencyRng = new SplittableRandom(s.seed() + 1);
    Evaluator evaluator = evaluator(model, tok, policy, ctx, tracer, s.fluency(), fluencyRng);
    Evaluator fallbackEvaluator =
        fallback == null
            ? null
            : evaluator(model, tok, fallback, ctx, tracer, s.fluency(), fluencyRng);
    List<String> fallbacks = new ArrayList<>();
    if (algorithm != null && s.divisionFactorOverride().isPresent()) {
      throw new IllegalArgumentException(
          "the Division Factor override is ROME's (kᵀu): the disabling-edit scenario runs ROME"
              + " and R-ROME only");
    }
    Editor inner =
        algorithm == null ? new TracedRome(model, tok, s, tracer) : algorithm.create(model, tok);
    Editor editor =
        EditSafety.checked(
            new PrecisionFallback(inner, Optional.ofNullable(fallback), fallbacks::add),
            model,
            tok,
            policy,
            fallback != null && !mode.allowUnsafeEdits(),
            fallbacks::add);
    // the step listener numbers the trace by optimisation step (the ops of the next iteration)
    EditContext base =
        EditContext.of(policy, ctx, log)
            .withSteps((step, delta) -> {
              tc.setStep(step.iteration() + 1);
              return true;
            })
            .withDynamicLossScale(s.dynamicLossScale());
    double[] preStoryNll = new double[1];
    List<EditMetrics> preMetrics = new ArrayList<>();

    tracer.stage(ReproTracer.Stage.PRE_EVALUATION);
    EditSession.Plan plan = new EditSession.Plan(s.records(), 1, s.sequential(), true);
    List<RecordOutcome> outcomes =
        EditSession.run(
            model,
            editor,
            base,
            plan,
            new EditSession.Hooks<>() {
              @Override
              public Evaluator.Evaluated pre(int i, EditRequest r) {
                tc.setRecord(i).setStep(-1);
                Evaluator.Evaluated e = evaluator.evaluate(r, null);
                preMetrics.add(e.metrics());
                return e;
              }

              @Override
              public void afterPre() {
                preStoryNll[0] = storyNll(model, tok, policy, ctx.withTracer(Tracer.NONE));
              }

              @Override
              public void beforeEdit(int i) {
                tc.setRecord(i).setStep(-1);
                tracer.stage(ReproTracer.Stage.EDIT);
              }

              @Override
              public EditContext context(int i, EditContext c) {
                // the LABELLED override edits the first record only; the records after it are
                // faithful
                return i == 0 ? c.withDivisionFactor(s.divisionFactorOverride()) : c;
              }

              @Override
              public RecordOutcome after(EditSession.Applied a, List<Evaluator.Evaluated> pre) {
                return postEdit(
                    a,
                    pre.getFirst(),
                    model,
                    tok,
                    policy,
                    fallback,
                    ctx,
                    tracer,
                    evaluator,
                    fallbackEvaluator,
                    log,
                    fallbacks);
              }
            });
    return new RunResult(
        mode.label(),
        policy.name(),
        preMetrics,
        preStoryNll[0],
        outcomes,
        tracer.anomaly(),
        tracer.stats() == null ? List.of() : tracer.stats().bySite(),
        nonFiniteWeights(model.weights()),
        fallbacks);
  }

  /**
   * Post-edit evaluation of one record, with the fluency generation redone in the fallback if it
   * fails.
   */
  private static RecordOutcome postEdit(
      EditSession.Applied a,
      Evaluator.Evaluated pre,
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      PrecisionPolicy fallback,
      OpContext ctx,
      ReproTracer tracer,
      Evaluator evaluator,
      Evaluator fallbackEvaluator,
      EditLog log,
      List<String> fallbacks) {
    int i = a.edit();
    EditRequest r = a.batch().getFirst();
    WeightUpdate u = a.update();
    RecordOutcome.Failure failure = null;
    String editProblem =
        u.problem()
            .map(p ->
                "edit of record "
                    + i
                    + (p.step() >= 0 ? " step " + p.step() : "")
                    + ": "
                    + p.what())
            .orElse(null);
    tracer.stage(ReproTracer.Stage.POST_EVALUATION);
    tracer.context().setStep(-1);
    Map<String, List<int[]>> preIds = pre.localityIds();
    Optional<EditMetrics> post;
    PrecisionPolicy evalPolicy = policy;
    try {
      post = Optional.of(evaluator.evaluate(r, preIds).metrics());
    } catch (InvalidDistributionException e) {
      ReproTracer.Stage where = tracer.stage();
      // torch.multinomial raises RuntimeError with this message (EasyEdit#290)
      log.line("RuntimeError: " + e.getMessage());
      if (fallbackEvaluator == null) {
        log.line("[EasyEdit's run stops here; nanscope goes on to show what follows]");
        failure = new RecordOutcome.Failure(i, where, -1, e.getMessage());
        post = Optional.empty();
      } else {
        String line =
            "falling back to "
                + shortName(fallback.name())
                + " at edit "
                + i
                + " "
                + (where == ReproTracer.Stage.GENERATION ? "generation" : "evaluation")
                + ": "
                + e.getMessage();
        log.line(line);
        fallbacks.add(line);
        tracer.stage(ReproTracer.Stage.POST_EVALUATION);
        post = Optional.of(fallbackEvaluator.evaluate(r, preIds).metrics());
        evalPolicy = fallback;
      }
    }
    double storyNll = storyNll(model, tok, evalPolicy, ctx.withTracer(Tracer.NONE));
    if (Double.isNaN(storyNll) && fallback != null && evalPolicy != fallback) {
      // the weights are finite but their FP16 forward overflows: judge the model as auto would run
      // it
      storyNll = storyNll(model, tok, fallback, ctx.withTracer(Tracer.NONE));
    }
    EditFigures f = EditFigures.of(u);
    return new RecordOutcome(
        i,
        r.subject(),
        r.targetNew(),
        f.steps(),
        f.divisionFactor(),
        f.computedDivisionFactor(),
        f.overridden(),
        f.nonFiniteUpdate(),
        a.written(),
        u.policy().name(),
        Optional.ofNullable(editProblem),
        post,
        storyNll,
        Optional.ofNullable(failure));
  }

  /**
   * What the comparison reads from an update: the optimisation steps of the first request (ROME:
   * compute_v of the first layer; MEMIT and AlphaEdit: compute_z; FT: the batch losses, as loss =
   * nll), kᵀu (ROME only, NaN otherwise) and the non-finite entries of the new weights.
   */
  private record EditFigures(
      List<TargetValue.Step> steps,
      double divisionFactor,
      double computedDivisionFactor,
      boolean overridden,
      long nonFiniteUpdate) {

    static EditFigures of(WeightUpdate u) {
      if (u.detail() instanceof Rome.Outcome out) {
        Rome.LayerUpdate first = out.layers().getFirst();
        return new EditFigures(
            first.value().steps(),
            first.divisionFactor(),
            first.computedDivisionFactor(),
            first.overridden(),
            out.layers().stream().mapToLong(Rome.LayerUpdate::nonFiniteWeights).sum());
      }
      List<TargetValue.Step> steps =
          switch (u.detail()) {
            case Memit.Outcome o -> o.values().getFirst().steps();
            case AlphaEdit.Outcome o -> o.values().getFirst().steps();
            case FineTune.Outcome o -> {
              List<TargetValue.Step> out = new ArrayList<>();
              for (int k = 0; k < o.steps().size(); k++) {
                double loss = o.steps().get(k).loss();
                out.add(new TargetValue.Step(k, loss, loss, 0, 0, Double.NaN));
              }
              yield out;
            }
            default -> List.of();
          };
      long nonFinite = 0;
      for (WeightUpdate.Change c : u.changes()) {
        nonFinite += RankOneUpdate.nonFinite(c.value());
      }
      return new EditFigures(steps, Double.NaN, Double.NaN, false, nonFinite);
    }
  }

  /**
   * ROME with its right vectors and rank-one updates reported to the tracer (they are not engine
   * ops): the trace's step is reset after the optimisation and the updates are replayed layer by
   * layer on the model, which is left as it was.
   */
  private static final class TracedRome implements Editor {
    private final RomeEditor rome;
    private final LlamaModel model;
    private final Tokenizer tok;
    private final ReproTracer tracer;

    TracedRome(LlamaModel model, Tokenizer tok, Settings s, ReproTracer tracer) {
      this.rome = new RomeEditor(model, tok, s.hp(), s.templates(), null);
      this.model = model;
      this.tok = tok;
      this.tracer = tracer;
    }

    @Override
    public String algorithm() {
      return rome.algorithm();
    }

    @Override
    public WeightUpdate compute(List<EditRequest> batch, EditContext ctx) {
      tracer.context().setStep(-1);
      WeightUpdate u = rome.compute(batch, ctx);
      tracer.context().setStep(-1);
      reportUpdates(
          model, tok, batch.getFirst(), ctx.policy(), ctx.ops(), tracer, RomeEditor.outcome(u));
      return u;
    }

    @Override
    public void written(WeightUpdate update, EditLog log) {
      rome.written(update, log);
    }
  }

  /**
   * Reports each layer's right vector and rank-one update to the tracer (they are not engine ops),
   * applying earlier layers' updates while later ones are recomputed, as {@code Rome.compute} does;
   * the model is left as it was.
   */
  private static void reportUpdates(
      LlamaModel model,
      Tokenizer tok,
      EditRequest r,
      PrecisionPolicy p,
      OpContext ctx,
      ReproTracer tracer,
      Rome.Outcome out) {
    WeightSnapshot applied = WeightSnapshot.of(model);
    try {
      for (Rome.LayerUpdate l : out.layers()) {
        Tensor w = model.writableDownProj(l.layer());
        RankOneStep step =
            RankOneStep.of(
                l.layer(),
                l.target(),
                l.keyOutput(),
                l.u(),
                l.divisionFactor(),
                w,
                UpdateSite.format(p, l.layer()));
        step.report(tracer, w, l.u());
        applied.overwrite(l.weightName(), l.layer(), l.updated());
      }
    } finally {
      applied.restore();
    }
  }

  private static Evaluator evaluator(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy p,
      OpContext ctx,
      ReproTracer tracer,
      boolean fluency,
      SplittableRandom rng) {
    GenerateFast gen = new GenerateFast(model, tok, p, ctx);
    Function<String, String> fluencyGen =
        prompt -> {
          ReproTracer.Stage prev = tracer.stage();
          tracer.stage(ReproTracer.Stage.GENERATION);
          String text = gen.generateOne(prompt, 100, 5, rng);
          tracer.stage(prev);
          return text;
        };
    return new Evaluator(new ModelProbes(model, tok, p, ctx), fluency ? fluencyGen : null);
  }

  /**
   * A fixed story in the model's own style (stories260K's greedy FP32 continuation of BOS, findings
   * Part A §1): its mean NLL is the model-health check of the comparison table.
   */
  public static final String PROBE_STORY =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

  /**
   * Mean NLL in nats per token of {@link #PROBE_STORY} (log-softmax in FP64); NaN when not finite.
   */
  static double storyNll(LlamaModel model, Tokenizer tok, PrecisionPolicy p, OpContext ctx) {
    int[] ids = tok.encode(PROBE_STORY, true, false);
    Tensor logits =
        model
            .forward(new SequenceBatch(new int[][] {ids}), p, ctx, null, Hooks.none())
            .logits()
            .value();
    int v = model.config().vocabSize();
    double sum = 0;
    for (int t = 0; t + 1 < ids.length; t++) {
      long base = (long) t * v;
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < v; j++) {
        max = Math.max(max, logits.getDouble(base + j));
      }
      double z = 0;
      for (int j = 0; j < v; j++) {
        z += Math.exp(logits.getDouble(base + j) - max);
      }
      sum += max + Math.log(z) - logits.getDouble(base + ids[t + 1]);
    }
    double nll = sum / (ids.length - 1);
    return Double.isFinite(nll) ? nll : Double.NaN;
  }

  /** NaN/inf count of every weight tensor, by HF name, in a fixed order. */
  public static Map<String, Long> nonFiniteWeights(LlamaWeights w) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (WeightNames.Global g : WeightNames.Global.values()) {
      m.put(g.hf(), RankOneUpdate.nonFinite(w.get(g)));
    }
    for (int l = 0; l < w.layers().size(); l++) {
      for (WeightNames.Layer t : WeightNames.Layer.values()) {
        m.put(t.hf(l), RankOneUpdate.nonFinite(w.get(l, t)));
      }
    }
    return m;
  }

  static int countNonFinite(float[] x) {
    int n = 0;
    for (float f : x) {
      if (!Float.isFinite(f)) {
        n++;
      }
    }
    return n;
  }
}
