package io.nanscope.editing.repro;

import io.nanscope.editing.eval.EditMetrics;
import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.eval.ModelProbes;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.editing.keys.SubjectKey;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.RankOneUpdate;
import io.nanscope.editing.rome.Rome;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.engine.trace.Tracer;
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
 * <p>Where EasyEdit stops at the multinomial error, this pipeline records the failure and carries on
 * with the next record, so the log shows what the following edit does on the broken model.
 *
 * <p>{@link Mode#auto} is the transactional precision fallback: the edit runs in FP16; the loss and
 * δ are checked at every step (a non-finite gradient shows in δ after Adam's step), and r and the new
 * weights after the edit; at the first non-finite value the attempt is dropped (the weights were
 * never touched: {@code Rome.compute} does not write) and the whole edit is redone in the fallback
 * precision. An update is written only when it, r, kᵀu and every loss are finite; otherwise it is
 * refused and the weights stay as they were. A generation that fails in FP16 is redone in the
 * fallback precision.
 */
public final class ReproPipeline {

  private ReproPipeline() {}

  /** Loads the model with its weights stored in a format (one fresh model per precision run). */
  @FunctionalInterface
  public interface ModelSource {
    LlamaModel load(FloatFormat storage) throws IOException;
  }

  /**
   * What to run.
   *
   * @param templates ROME's context templates, the same for every precision (so runs differ only in
   *     the edit's numerics)
   * @param seed seed of the fluency sampling (seed + 1, as {@code edit})
   * @param fluency whether to run the fluency generation
   * @param sequential keep every edit (EasyEdit's behaviour in June 2024) instead of restoring
   * @param divisionFactorOverride a LABELLED override of kᵀu applied to the FIRST record only (the
   *     disabling edit); the records after it are faithful ROME edits of the edited model
   * @param collectStats keep per-site stats of the edits (the headroom report)
   * @param dynamicLossScale dynamic loss scaling of the delta's backward (GradScaler; not in EasyEdit)
   */
  public record Settings(
      RomeHyperParams hp, List<EditRequest> records, ContextTemplates templates, long seed, int threads,
      boolean fluency, boolean sequential, OptionalDouble divisionFactorOverride, boolean collectStats,
      boolean dynamicLossScale) {

    public Settings {
      records = List.copyOf(records);
      if (records.isEmpty()) {
        throw new IllegalArgumentException("no edit records to run: pass a data file with at least one record");
      }
      if (divisionFactorOverride.isPresent()
          && !(divisionFactorOverride.getAsDouble() != 0 && Double.isFinite(divisionFactorOverride.getAsDouble()))) {
        throw new IllegalArgumentException(
            "the Division Factor override must be finite and non-zero, got " + divisionFactorOverride.getAsDouble());
      }
    }
  }

  /**
   * A fixed precision policy, or the FP16 policy with a fallback.
   *
   * @param policy e.g. {@code pytorch-fp16}
   * @param fallback the fallback policy's name for auto, empty otherwise
   */
  public record Mode(String policy, Optional<String> fallback) {

    public static Mode fixed(String policy) {
      PrecisionPolicy.named(policy); // fail early on a bad name
      return new Mode(policy, Optional.empty());
    }

    /** FP16 ({@code pytorch-fp16}) with {@code fallback} ({@code fp32} or {@code pytorch-bf16}). */
    public static Mode auto(String fallback) {
      PrecisionPolicy.named(fallback);
      return new Mode("pytorch-fp16", Optional.of(fallback));
    }

    /** {@code fp16}, {@code bf16}, {@code fp32}, or {@code auto (fp16 -> fp32)}. */
    public String label() {
      return fallback.map(f -> "auto (" + shortName(policy) + " -> " + shortName(f) + ")").orElse(shortName(policy));
    }
  }

  /** {@code pytorch-fp16} → {@code fp16}. */
  public static String shortName(String policy) {
    return policy.startsWith("pytorch-") ? policy.substring("pytorch-".length()) : policy;
  }

  /** Runs the pipeline; {@code log} receives EasyEdit's log lines and the fallback lines. */
  public static RunResult run(ModelSource source, Tokenizer tok, Settings s, Mode mode, EditLog log)
      throws IOException {
    PrecisionPolicy policy = PrecisionPolicy.named(mode.policy());
    PrecisionPolicy fallback = mode.fallback().map(PrecisionPolicy::named).orElse(null);
    LlamaModel model = source.load(policy.storage());
    TraceContext tc = new TraceContext();
    ReproTracer tracer = new ReproTracer(tc, mode.label(), s.collectStats());
    OpContext ctx = OpContext.DEFAULT.withThreads(s.threads()).withTracer(tracer);
    SplittableRandom fluencyRng = new SplittableRandom(s.seed() + 1);
    Evaluator evaluator = evaluator(model, tok, policy, ctx, tracer, s.fluency(), fluencyRng);
    Evaluator fallbackEvaluator =
        fallback == null ? null : evaluator(model, tok, fallback, ctx, tracer, s.fluency(), fluencyRng);
    List<String> fallbacks = new ArrayList<>();

    tracer.stage(ReproTracer.Stage.PRE_EVALUATION);
    List<Evaluator.Evaluated> pre = new ArrayList<>();
    for (int i = 0; i < s.records().size(); i++) {
      tc.setRecord(i).setStep(-1);
      pre.add(evaluator.evaluate(s.records().get(i), null));
    }
    double preStoryNll = storyNll(model, tok, policy, ctx.withTracer(Tracer.NONE));
    List<RecordOutcome> outcomes = new ArrayList<>();
    for (int i = 0; i < s.records().size(); i++) {
      EditRequest r = s.records().get(i);
      tc.setRecord(i).setStep(-1);
      tracer.stage(ReproTracer.Stage.EDIT);
      OptionalDouble override = i == 0 ? s.divisionFactorOverride() : OptionalDouble.empty();
      Attempt a = attempt(model, tok, s, r, policy, ctx, tracer, override, log, fallback != null);
      PrecisionPolicy editPolicy = policy;
      if (a.problem() != null && fallback != null) {
        String line = "falling back to " + shortName(fallback.name()) + " at edit " + i
            + (a.badStep() >= 0 ? " step " + a.badStep() : "") + ": " + a.problem();
        log.line(line);
        fallbacks.add(line);
        tc.setStep(-1);
        a = attempt(model, tok, s, r, fallback, ctx, tracer, override, log, true);
        editPolicy = fallback;
      }
      boolean write = fallback == null || a.problem() == null;
      List<Tensor> saved = new ArrayList<>();
      if (write) {
        for (Rome.LayerUpdate l : a.outcome().layers()) {
          saved.add(model.writableDownProj(l.layer()).copy());
        }
        Rome.apply(model, a.outcome(), log);
      } else {
        String line = "refused the update of edit " + i + " (" + a.problem() + "): the weights are unchanged";
        log.line(line);
        fallbacks.add(line);
      }
      RecordOutcome.Failure failure = null;
      String editProblem = a.problem() == null ? null
          : "edit of record " + i + (a.badStep() >= 0 ? " step " + a.badStep() : "") + ": " + a.problem();
      tracer.stage(ReproTracer.Stage.POST_EVALUATION);
      tc.setStep(-1);
      Map<String, List<int[]>> preIds = pre.get(i).localityIds();
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
          String line = "falling back to " + shortName(fallback.name()) + " at edit " + i + " "
              + (where == ReproTracer.Stage.GENERATION ? "generation" : "evaluation") + ": " + e.getMessage();
          log.line(line);
          fallbacks.add(line);
          tracer.stage(ReproTracer.Stage.POST_EVALUATION);
          post = Optional.of(fallbackEvaluator.evaluate(r, preIds).metrics());
          evalPolicy = fallback;
        }
      }
      double storyNll = storyNll(model, tok, evalPolicy, ctx.withTracer(Tracer.NONE));
      if (Double.isNaN(storyNll) && fallback != null && evalPolicy != fallback) {
        // the weights are finite but their FP16 forward overflows: judge the model as auto would run it
        storyNll = storyNll(model, tok, fallback, ctx.withTracer(Tracer.NONE));
      }
      Rome.LayerUpdate first = a.outcome().layers().getFirst();
      long nonFiniteUpdate = a.outcome().layers().stream().mapToLong(Rome.LayerUpdate::nonFiniteWeights).sum();
      outcomes.add(new RecordOutcome(i, r.subject(), r.targetNew(), first.value().steps(), first.divisionFactor(),
          first.computedDivisionFactor(), first.overridden(), nonFiniteUpdate, write, editPolicy.name(),
          Optional.ofNullable(editProblem), post, storyNll, Optional.ofNullable(failure)));
      if (!s.sequential() && write) {
        List<Rome.LayerUpdate> ls = a.outcome().layers();
        for (int k = saved.size() - 1; k >= 0; k--) {
          RankOneUpdate.copyInto(saved.get(k), model.writableDownProj(ls.get(k).layer()));
        }
      }
    }
    List<EditMetrics> preMetrics = pre.stream().map(Evaluator.Evaluated::metrics).toList();
    return new RunResult(mode.label(), policy.name(), preMetrics, preStoryNll, outcomes, tracer.anomaly(),
        tracer.stats() == null ? List.of() : tracer.stats().bySite(), nonFiniteWeights(model.weights()), fallbacks);
  }

  /** One computed (not written) edit and the first non-finite thing found in it. */
  record Attempt(Rome.Outcome outcome, int badStep, String problem) {}

  private static Attempt attempt(
      LlamaModel model, Tokenizer tok, Settings s, EditRequest r, PrecisionPolicy p, OpContext ctx,
      ReproTracer tracer, OptionalDouble override, EditLog log, boolean stopAtFirstBadStep) {
    StepCheck check = new StepCheck(stopAtFirstBadStep, tracer.context());
    Rome.Options o = Rome.Options.of(p, ctx).withListener(check).withDynamicLossScale(s.dynamicLossScale());
    if (override.isPresent()) {
      o = o.withDivisionFactor(override.getAsDouble());
    }
    Rome.Outcome out = Rome.compute(model, tok, s.hp(), r.forRome(), s.templates(), o, log);
    tracer.context().setStep(-1);
    reportUpdates(model, tok, r, p, ctx, tracer, out);
    if (check.badStep >= 0) {
      return new Attempt(out, check.badStep, check.reason);
    }
    for (Rome.LayerUpdate l : out.layers()) {
      String what = null;
      if (!Double.isFinite(l.divisionFactor())) {
        what = "Division Factor " + l.divisionFactor();
      } else if (countNonFinite(l.r()) > 0) {
        what = countNonFinite(l.r()) + " non-finite entries in the right vector r";
      } else if (l.nonFiniteWeights() > 0) {
        what = l.nonFiniteWeights() + " non-finite entries in the new " + l.weightName();
      }
      if (what != null) {
        return new Attempt(out, -1, "rank-one update: " + what);
      }
    }
    return new Attempt(out, -1, null);
  }

  /**
   * Reports each layer's right vector and rank-one update to the tracer (they are not engine ops),
   * applying earlier layers' updates while later ones are recomputed, as {@code Rome.compute} does;
   * the model is left as it was.
   */
  private static void reportUpdates(
      LlamaModel model, Tokenizer tok, EditRequest r, PrecisionPolicy p, OpContext ctx, ReproTracer tracer,
      Rome.Outcome out) {
    List<Tensor> originals = new ArrayList<>();
    try {
      for (Rome.LayerUpdate l : out.layers()) {
        SubjectKey.AtToken cur = SubjectKey.at(model, tok, p, ctx.withTracer(Tracer.NONE), l.layer(),
            r.forRome().promptTemplate(), r.subject());
        Tensor w = model.writableDownProj(l.layer());
        RankOneStep step = RankOneStep.of(l.layer(), l.value().target(), cur.output(), l.u(), l.divisionFactor(), w);
        step.report(tracer, w, l.u());
        originals.add(w.copy());
        RankOneUpdate.copyInto(l.updated(), w);
      }
    } finally {
      for (int k = originals.size() - 1; k >= 0; k--) {
        RankOneUpdate.copyInto(originals.get(k), model.writableDownProj(out.layers().get(k).layer()));
      }
    }
  }

  /** Checks each step's loss and δ; stops the optimisation at the first non-finite one when asked. */
  static final class StepCheck implements TargetValue.StepListener {
    private final boolean stop;
    private final TraceContext context;
    int badStep = -1;
    String reason;

    StepCheck(boolean stop, TraceContext context) {
      this.stop = stop;
      this.context = context;
    }

    @Override
    public boolean onStep(TargetValue.Step step, float[] delta) {
      context.setStep(step.iteration() + 1); // ops of the next iteration's backward/forward
      if (badStep < 0) {
        if (!step.finite()) {
          badStep = step.iteration();
          reason = "loss " + step.loss() + " (nll " + step.nll() + ", kl " + step.kl() + ")";
        } else if (countNonFinite(delta) > 0) {
          badStep = step.iteration();
          reason = countNonFinite(delta) + " non-finite entries in delta (from the gradient or Adam's update)";
        }
      }
      return !(stop && badStep >= 0);
    }
  }

  private static Evaluator evaluator(
      LlamaModel model, Tokenizer tok, PrecisionPolicy p, OpContext ctx, ReproTracer tracer, boolean fluency,
      SplittableRandom rng) {
    GenerateFast gen = new GenerateFast(model, tok, p, ctx);
    Function<String, String> fluencyGen = prompt -> {
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

  /** Mean NLL in nats per token of {@link #PROBE_STORY} (log-softmax in FP64); NaN when not finite. */
  static double storyNll(LlamaModel model, Tokenizer tok, PrecisionPolicy p, OpContext ctx) {
    int[] ids = tok.encode(PROBE_STORY, true, false);
    Tensor logits = model.forward(new SequenceBatch(new int[][] {ids}), p, ctx, null, Hooks.none()).logits().value();
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
