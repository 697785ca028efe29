package io.nanscope.editing.repro;

import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.hparams.ValueOptimization;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.Rome;
import io.nanscope.editing.rome.RomeEditor;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.EditSession;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.AnomalyTracer;
import io.nanscope.engine.trace.CompositeTracer;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.TensorStats;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.generate.InvalidDistributionException;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LlamaWeights;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;

/**
 * The {@code stress} scenario of {@code nanscope repro}: on a model calibrated by {@link
 * Calibration} (late SwiGLU peaks at a fraction of FP16's maximum; {@value Calibration#LABEL}),
 * ROME edits are applied SEQUENTIALLY WITHOUT RESTORE — EasyEdit's behaviour in June 2024, when the
 * NaN report was filed — in each precision policy (FP16, BF16, FP32), each edit followed by
 * EasyEdit's fluency generation (100 tokens, top-5 multinomial). Per precision it reports the first
 * op that produced a non-finite value ({@link AnomalyTracer} in recording mode: edit, stage, step,
 * phase, site, op), the symptoms that followed (loss nan, NaN weights, the multinomial error) and
 * the closest approach of the scaled MLP outputs (up_proj, silu(gate)·up) to 65,504; then the same
 * over a sweep of peak fractions, so the width of the failing window is visible.
 *
 * <p>The NaN always comes from the computation: nothing is planted; runs are seeded and
 * deterministic. Every precision sees the same context templates (sampled once, on the original
 * model in FP32), so runs differ only in their arithmetic.
 */
public final class StressScenario {

  private StressScenario() {}

  /**
   * What to run.
   *
   * @param model the source model (llama2.c checkpoint or HF directory); its tokenizer sits beside
   *     it
   * @param hparams ROME hyperparameters (layers, v_lr, ...)
   * @param records edit requests, cycled in order for as many edits as asked
   * @param fraction the main run's peak fraction of FP16's maximum
   * @param layers which layers to scale: late, all or "3,4"
   * @param residualScale c; when not 1, v_lr and v_weight_decay are multiplied by c too (the
   *     equivariant values, findings Part B §2: they make the c-scaled edit the same edit)
   * @param policies precision policy names, in report order
   * @param edits sequential edits in the main run
   * @param sweepFractions peak fractions of the sweep (empty: no sweep)
   * @param sweepEdits sequential edits per sweep run
   * @param sampledTemplates EasyEdit's sampled context templates (else only "{}": fast, for tests)
   * @param templates given context templates (e.g. the prototype's 21), used instead of sampling
   * @param fluencyTokens tokens of the fluency generation after each edit (0: none)
   * @param editsAfterFailure edits still run after the one where the first non-finite value
   *     appeared (to show the next edit's {@code loss nan} line)
   * @param probeStories, probeStoryTokens the calibration probe set's sampled stories
   * @param seed every random choice (probe stories, templates, fluency sampling)
   * @param threads GEMM threads (results do not depend on it)
   * @param jobs calibrations and precision runs side by side (each is independent of the others, so
   *     results and the order of every printed line do not depend on it)
   * @param progress one line per finished edit
   */
  public record Settings(
      Path model,
      RomeHyperParams hparams,
      List<EditRequest> records,
      double fraction,
      String layers,
      double residualScale,
      List<String> policies,
      int edits,
      List<Double> sweepFractions,
      int sweepEdits,
      boolean sampledTemplates,
      Optional<ContextTemplates> templates,
      int fluencyTokens,
      int editsAfterFailure,
      int probeStories,
      int probeStoryTokens,
      long seed,
      int threads,
      int jobs,
      Consumer<String> progress) {

    /** The default peak fraction: findings Part B's failing calibration (T = 60k ≈ 0.92·65,504). */
    public static final double DEFAULT_FRACTION = 0.92;

    /** The default sweep. */
    public static final List<Double> DEFAULT_SWEEP = List.of(0.5, 0.6, 0.7, 0.8, 0.9, 0.95);

    public Settings {
      records = List.copyOf(records);
      policies = List.copyOf(policies);
      sweepFractions = List.copyOf(sweepFractions);
      if (records.isEmpty()) {
        throw new IllegalArgumentException("the stress scenario needs at least one edit record");
      }
      if (policies.isEmpty()) {
        throw new IllegalArgumentException(
            "the stress scenario needs at least one precision policy");
      }
      policies.forEach(PrecisionPolicy::named);
      Calibration.checkFraction(fraction);
      sweepFractions.forEach(Calibration::checkFraction);
      if (edits < 1
          || sweepEdits < 0
          || editsAfterFailure < 0
          || fluencyTokens < 0
          || threads < 1
          || jobs < 1) {
        throw new IllegalArgumentException(
            "need edits >= 1, sweep edits >= 0, edits after failure >= 0,"
                + " fluency tokens >= 0, threads >= 1 and jobs >= 1; got "
                + edits
                + ", "
                + sweepEdits
                + ", "
                + editsAfterFailure
                + ", "
                + fluencyTokens
                + ", "
                + threads
                + ", "
                + jobs);
      }
      if (!(residualScale > 0 && Double.isFinite(residualScale))) {
        throw new IllegalArgumentException(
            "the residual scale must be finite and > 0, got " + residualScale);
      }
      progress = progress == null ? s -> {} : progress;
      templates = templates == null ? Optional.empty() : templates;
    }

    /**
     * A builder with the defaults: fraction 0.92 on the late layers, no residual scale,
     * pytorch-fp16, pytorch-bf16 and fp32, 20 edits, the sweep 0.5–0.95 with 10 edits each,
     * EasyEdit's sampled templates, 100-token fluency, one edit after the failure, 24 probe stories
     * of 256 tokens (findings Part B), seed 42, one GEMM thread, as many jobs as available
     * processors.
     */
    public static Builder builder(Path model, RomeHyperParams hparams, List<EditRequest> records) {
      return new Builder(model, hparams, records);
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
      Builder b = new Builder(model, hparams, records);
      b.fraction = fraction;
      b.layers = layers;
      b.residualScale = residualScale;
      b.policies = policies;
      b.edits = edits;
      b.sweepFractions = sweepFractions;
      b.sweepEdits = sweepEdits;
      b.sampledTemplates = sampledTemplates;
      b.templates = templates.orElse(null);
      b.fluencyTokens = fluencyTokens;
      b.editsAfterFailure = editsAfterFailure;
      b.probeStories = probeStories;
      b.probeStoryTokens = probeStoryTokens;
      b.seed = seed;
      b.threads = threads;
      b.jobs = jobs;
      b.progress = progress;
      return b;
    }
  }

  /** Builds {@link Settings}; every value is checked by {@link #build()}. */
  public static final class Builder {
    private final Path model;
    private final RomeHyperParams hparams;
    private final List<EditRequest> records;
    private double fraction = Settings.DEFAULT_FRACTION;
    private String layers = "late";
    private double residualScale = 1;
    private List<String> policies = List.of("pytorch-fp16", "pytorch-bf16", "fp32");
    private int edits = 20;
    private List<Double> sweepFractions = Settings.DEFAULT_SWEEP;
    private int sweepEdits = 10;
    private boolean sampledTemplates = true;
    private ContextTemplates templates;
    private int fluencyTokens = 100;
    private int editsAfterFailure = 1;
    private int probeStories = 24;
    private int probeStoryTokens = 256;
    private long seed = 42;
    private int threads = 1;
    private int jobs = Runtime.getRuntime().availableProcessors();
    private Consumer<String> progress = s -> {};

    private Builder(Path model, RomeHyperParams hparams, List<EditRequest> records) {
      this.model = model;
      this.hparams = hparams;
      this.records = records;
    }

    public Builder fraction(double f) {
      fraction = f;
      return this;
    }

    public Builder layers(String l) {
      layers = l;
      return this;
    }

    public Builder residualScale(double c) {
      residualScale = c;
      return this;
    }

    public Builder policies(List<String> p) {
      policies = p;
      return this;
    }

    public Builder edits(int n) {
      edits = n;
      return this;
    }

    /**
     * The sweep's fractions and the edits of each sweep run (0 edits or no fractions: no sweep).
     */
    public Builder sweep(List<Double> fractions, int editsEach) {
      sweepFractions = fractions;
      sweepEdits = editsEach;
      return this;
    }

    public Builder sampledTemplates(boolean sampled) {
      sampledTemplates = sampled;
      return this;
    }

    /** Use these context templates for every precision instead of sampling them. */
    public Builder templates(ContextTemplates t) {
      templates = t;
      return this;
    }

    public Builder fluencyTokens(int n) {
      fluencyTokens = n;
      return this;
    }

    public Builder editsAfterFailure(int n) {
      editsAfterFailure = n;
      return this;
    }

    public Builder probe(int stories, int storyTokens) {
      probeStories = stories;
      probeStoryTokens = storyTokens;
      return this;
    }

    public Builder seed(long s) {
      seed = s;
      return this;
    }

    public Builder threads(int n) {
      threads = n;
      return this;
    }

    /**
     * Calibrations and precision runs side by side (default: the available processors; the results
     * do not depend on it).
     */
    public Builder jobs(int n) {
      jobs = n;
      return this;
    }

    public Builder progress(Consumer<String> p) {
      progress = p;
      return this;
    }

    public Settings build() {
      return new Settings(
          model,
          hparams,
          records,
          fraction,
          layers,
          residualScale,
          policies,
          edits,
          sweepFractions,
          sweepEdits,
          sampledTemplates,
          Optional.ofNullable(templates),
          fluencyTokens,
          editsAfterFailure,
          probeStories,
          probeStoryTokens,
          seed,
          threads,
          jobs,
          progress);
    }
  }

  /**
   * Where the first non-finite value of a run was born.
   *
   * @param edit 1-based edit number (the trace context's record + 1)
   * @param stage compute_u, compute_v, key at the bare prompt, rank-one update or fluency
   *     generation
   * @param event the anomaly tracer's first event (null when the first sign was non-finite weights
   *     written by the rank-one update, which is not a traced op)
   */
  public record Failure(int edit, String stage, FirstNonFinite event) {

    /** {@code edit 12, compute_v step 10: forward layers.3.mlp.act_mul_up (mul) …; |x| = … > …}. */
    public String describe() {
      if (event == null) {
        return "edit " + edit + ", " + stage + ": non-finite values written into the weights";
      }
      var at = event.at();
      String step =
          at.step() >= 0
              ? (stage.equals("fluency generation") ? " position " : " step ") + at.step()
              : "";
      return "edit "
          + edit
          + ", "
          + stage
          + step
          + ": "
          + at.phaseName()
          + " "
          + at.site()
          + " ("
          + at.op()
          + "); "
          + event.limitCrossed();
    }
  }

  /**
   * One precision's sequential run.
   *
   * @param policy the precision policy's name
   * @param editsRun edits applied
   * @param failure where the first non-finite value appeared, if anywhere
   * @param nanLoss first "loss nan" line: {edit, step}, or null
   * @param nanWeightsEdit first edit that wrote non-finite weights (1-based), or -1
   * @param multinomialEdit first edit whose fluency generation raised the multinomial error, or -1
   * @param multinomialMessage that error's message, or ""
   * @param peak the largest |up_proj| or |silu(gate)·up| (before rounding) any forward pass
   *     produced, all layers: the closest approach to (or the overshoot of) FP16's maximum
   * @param lastLossLine the last step's EasyEdit log line
   * @param report the first event's multi-line report, or ""
   */
  public record Outcome(
      String policy,
      int editsRun,
      Optional<Failure> failure,
      int[] nanLoss,
      int nanWeightsEdit,
      int multinomialEdit,
      String multinomialMessage,
      double peak,
      String lastLossLine,
      String report) {

    /** "edit 12" or "none". */
    public String firstFailingEdit() {
      return failure.map(f -> "edit " + f.edit()).orElse("none");
    }
  }

  /** One calibration and its runs. */
  public record Run(
      double fraction, double[] factors, double maxRelativeDifference, List<Outcome> outcomes) {}

  /** The scenario's result: the main run and the sweep. */
  public record Report(String setup, Run main, List<Run> sweep, int sweepEdits) {

    /** The printed table: setup, per precision the first failure and symptoms, then the sweep. */
    public String table() {
      StringBuilder b = new StringBuilder();
      b.append("stress scenario — ")
          .append(Calibration.LABEL)
          .append('\n')
          .append(setup)
          .append('\n');
      b.append(
          String.format(
              Locale.ROOT,
              "main run: peak %.3g x 65,504 = %,.0f; a_l = %s; FP32 logits max relative"
                  + " difference %.2g%n",
              main.fraction(),
              main.fraction() * Calibration.FP16_MAX,
              factors(main.factors()),
              main.maxRelativeDifference()));
      b.append(
          String.format(
              Locale.ROOT,
              "%-13s %5s  %-10s %-14s %-11s %-11s %10s%n",
              "precision",
              "edits",
              "first NaN",
              "loss nan",
              "NaN weights",
              "multinomial",
              "peak/65504"));
      for (Outcome o : main.outcomes()) {
        b.append(
            String.format(
                Locale.ROOT,
                "%-13s %5d  %-10s %-14s %-11s %-11s %10.4f%n",
                o.policy(),
                o.editsRun(),
                o.firstFailingEdit(),
                o.nanLoss() == null ? "none" : "edit " + o.nanLoss()[0] + " step " + o.nanLoss()[1],
                o.nanWeightsEdit() < 0 ? "none" : "edit " + o.nanWeightsEdit(),
                o.multinomialEdit() < 0 ? "none" : "edit " + o.multinomialEdit(),
                o.peak() / Calibration.FP16_MAX));
      }
      for (Outcome o : main.outcomes()) {
        o.failure()
            .ifPresent(f ->
                b.append(o.policy())
                    .append(": first non-finite value at ")
                    .append(f.describe())
                    .append('\n'));
        if (o.multinomialEdit() >= 0) {
          b.append(o.policy())
              .append(": fluency generation at edit ")
              .append(o.multinomialEdit())
              .append(": ")
              .append(o.multinomialMessage())
              .append('\n');
        }
        if (o.failure().isPresent() && !o.lastLossLine().isEmpty()) {
          b.append(o.policy()).append(": last log line: ").append(o.lastLossLine()).append('\n');
        }
      }
      if (!sweep.isEmpty()) {
        b.append(
            String.format(
                Locale.ROOT,
                "%nsweep over the peak fraction (%d sequential edits each): first failing"
                    + " edit, or none (closest approach: peak/65504)%n",
                sweepEdits));
        b.append(String.format(Locale.ROOT, "%-9s", "fraction"));
        for (Outcome o : sweep.getFirst().outcomes()) {
          b.append(String.format(Locale.ROOT, " %-22s", o.policy()));
        }
        b.append('\n');
        for (Run r : sweep) {
          b.append(String.format(Locale.ROOT, "%-9.3g", r.fraction()));
          for (Outcome o : r.outcomes()) {
            b.append(
                String.format(
                    Locale.ROOT,
                    " %-22s",
                    o.firstFailingEdit()
                        + String.format(Locale.ROOT, " (%.3f)", o.peak() / Calibration.FP16_MAX)));
          }
          b.append('\n');
        }
      }
      return b.toString();
    }

    /**
     * A plain-language conclusion from what was measured: which precisions went non-finite at the
     * main fraction and where, or that none did and how close the scaled MLP came; the sweep's
     * failing fractions.
     */
    public String conclusion() {
      StringBuilder b = new StringBuilder();
      List<String> failed = new ArrayList<>();
      List<String> finite = new ArrayList<>();
      double closest = 0;
      for (Outcome o : main.outcomes()) {
        (o.failure().isPresent() ? failed : finite).add(o.policy());
        if (o.failure().isEmpty()) {
          closest = Math.max(closest, o.peak() / Calibration.FP16_MAX);
        }
      }
      b.append(
          String.format(
              Locale.ROOT,
              "At a calibrated late SwiGLU peak of %.3g x 65,504 (%s), ",
              main.fraction(),
              Calibration.LABEL));
      if (failed.isEmpty()) {
        b.append(
            String.format(
                Locale.ROOT,
                "no precision produced a non-finite value in %d sequential edits"
                    + " without restore; the scaled MLP outputs came within %.3f x 65,504 at most.",
                maxEdits(main),
                closest));
      } else {
        List<String> where = new ArrayList<>();
        for (Outcome o : main.outcomes()) {
          o.failure().ifPresent(f -> where.add(o.policy() + " at " + f.describe()));
        }
        b.append("the first non-finite value appeared in ").append(String.join("; in ", where));
        b.append(finite.isEmpty() ? "." : "; " + String.join(", ", finite) + " stayed finite.");
      }
      if (!sweep.isEmpty()) {
        List<String> failing = new ArrayList<>();
        for (Run r : sweep) {
          for (Outcome o : r.outcomes()) {
            o.failure()
                .ifPresent(f ->
                    failing.add(
                        String.format(
                            Locale.ROOT,
                            "%.3g (%s, edit %d)",
                            r.fraction(),
                            o.policy(),
                            f.edit())));
          }
        }
        b.append(
            failing.isEmpty()
                ? String.format(
                    Locale.ROOT,
                    " In the sweep (%d edits each) nothing failed at any fraction.",
                    sweepEdits)
                : " In the sweep ("
                    + sweepEdits
                    + " edits each) failures at: "
                    + String.join(", ", failing)
                    + ".");
      }
      b.append(
          " Why the window is narrow (findings Part B §4): RMSNorm bounds how far any input can drive a late"
              + " MLP above its natural maximum (4-7x at layer level), and ROME edits rarely get near that bound.");
      return b.toString();
    }

    private static int maxEdits(Run r) {
      return r.outcomes().stream().mapToInt(Outcome::editsRun).max().orElse(0);
    }

    private static String factors(double[] a) {
      StringBuilder b = new StringBuilder("[");
      for (int i = 0; i < a.length; i++) {
        b.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.6g", a[i]));
      }
      return b.append(']').toString();
    }
  }

  /**
   * Runs the main calibration and the sweep; EasyEdit's log lines of the main run go to {@code
   * log}.
   */
  public static Report run(Settings s, EditLog log) {
    try {
      Setup su = Setup.of(s);
      LlamaWeights w32 = su.w32();
      Tokenizer tok = su.tok();
      OpContext ctx = su.ctx();
      LlamaModel m0 = su.m0();
      int[] layers = su.layers();
      Calibration.Probe probe = su.probe();
      Calibration.Measurement original0 = su.natural();
      Calibration.Profile natural = original0.profile();
      List<Tensor> originalLogits = original0.logits();
      ContextTemplates templates = templates(s, m0, tok, ctx);
      RomeHyperParams hp = equivariant(s.hparams(), s.residualScale());
      String setup =
          String.format(
              Locale.ROOT,
              "model %s, layers scaled %s (%s), residual scale %.6g; ROME at"
                  + " layer(s) %s, v_lr %.6g, sequential edits WITHOUT restore, %d context template(s), fluency %d tokens"
                  + " top-5 after each edit; records cycled from %d; seed %d",
              s.model(),
              java.util.Arrays.toString(layers),
              s.layers(),
              s.residualScale(),
              hp.layers(),
              hp.valueOptimization().lr(),
              templates.templates().size(),
              s.fluencyTokens(),
              s.records().size(),
              s.seed());
      List<Double> fractions = new ArrayList<>();
      fractions.add(s.fraction());
      if (s.sweepEdits() > 0) {
        fractions.addAll(s.sweepFractions());
      }
      List<Run> runs =
          runFractions(
              s,
              fractions,
              w32,
              tok,
              probe,
              natural,
              originalLogits,
              layers,
              templates,
              hp,
              ctx,
              log);
      Run main = runs.getFirst();
      List<Run> sweep = runs.subList(1, runs.size());
      return new Report(setup, main, sweep, s.sweepEdits());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The given templates, or EasyEdit's sampled on the original FP32 model, or the bare "{}". */
  private static ContextTemplates templates(
      Settings s, LlamaModel m0, Tokenizer tok, OpContext ctx) {
    return s.templates().isPresent()
        ? s.templates().get()
        : s.sampledTemplates()
            ? ContextTemplates.sample(
                new GenerateFast(m0, tok, PrecisionPolicy.named("fp32"), ctx),
                s.hparams().contextTemplateLengthParams(),
                s.seed(),
                "sampled top-k 5 on the original model, fp32")
            : ContextTemplates.bare();
  }

  /**
   * The main run's calibrated model (FP32 weights) with what its edits run with, for callers that
   * drive the sequential edits themselves (the precision bisection).
   *
   * @param maxRelativeDifference the calibration's check: max relative FP32 logit difference
   */
  public record Prepared(
      LlamaWeights weights,
      Tokenizer tok,
      ContextTemplates templates,
      RomeHyperParams hp,
      double maxRelativeDifference) {}

  /**
   * What {@link #run} and {@link #prepare} start from: the model in FP32, its tokenizer, the probe,
   * and the natural FP32 profile with the original's logits on the probe (the same for every
   * fraction's proof), from one forward per probe text.
   */
  private record Setup(
      LlamaWeights w32,
      Tokenizer tok,
      OpContext ctx,
      LlamaModel m0,
      int[] layers,
      Calibration.Probe probe,
      Calibration.Measurement natural) {

    static Setup of(Settings s) throws IOException {
      LlamaWeights original = LlamaWeights.read(s.model());
      Tokenizer tok = Tokenizer.besideModel(s.model());
      LlamaWeights w32 = Calibration.allFp32(original) ? original : original.to(FloatFormat.FP32);
      OpContext ctx = OpContext.DEFAULT.withThreads(s.threads());
      LlamaModel m0 = LlamaModel.of(w32.config(), w32);
      int[] layers = Calibration.parseLayers(s.layers(), w32.config().nLayers());
      Calibration.Probe probe =
          Calibration.probe(
              m0, tok, s.records(), s.probeStories(), s.probeStoryTokens(), s.seed(), ctx);
      Calibration.Measurement natural =
          Calibration.measure(m0, tok, probe, PrecisionPolicy.named("fp32"), ctx);
      return new Setup(w32, tok, ctx, m0, layers, probe, natural);
    }
  }

  /** Calibrates {@code s.model()} at {@code s.fraction()} exactly as {@link #run} does. */
  public static Prepared prepare(Settings s) throws IOException {
    Setup su = Setup.of(s);
    ContextTemplates templates = templates(s, su.m0(), su.tok(), su.ctx());
    Calibration.Result cal =
        Calibration.calibrate(
            su.w32(),
            su.tok(),
            su.probe(),
            su.natural().profile(),
            su.natural().logits(),
            s.fraction(),
            su.layers(),
            s.residualScale(),
            su.ctx());
    return new Prepared(
        cal.weights(),
        su.tok(),
        templates,
        equivariant(s.hparams(), s.residualScale()),
        cal.maxRelativeDifference());
  }

  /**
   * v_lr and v_weight_decay ×c: with the residual ×c the whole ROME optimisation is the c=1 one,
   * ×c.
   */
  static RomeHyperParams equivariant(RomeHyperParams h, double c) {
    if (c == 1) {
      return h;
    }
    ValueOptimization v = h.valueOptimization();
    ValueOptimization scaled =
        new ValueOptimization(
            v.numGradSteps(),
            v.lr() * c,
            v.lossLayer(),
            v.weightDecay() * c,
            v.clampNormFactor(),
            v.klFactor(),
            v.targetTokens());
    return new RomeHyperParams(
        h.algName(),
        h.modelName(),
        h.statsDir(),
        h.device(),
        h.layers(),
        h.factToken(),
        scaled,
        h.secondMoment(),
        h.contextTemplateLengthParams(),
        h.modules(),
        h.modelParallel(),
        h.fp16(),
        h.maxLength());
  }

  /**
   * Calibrates at each fraction (the first: the main run, with {@code s.edits()} edits and {@code
   * log}; the others: the sweep, with {@code s.sweepEdits()} edits and no log) and runs each
   * precision's sequential edits, on up to {@code s.jobs()} threads. Every calibration and every
   * precision run is independent of the others (its own model, tracer and fluency sampler, single
   * threaded unless {@code s.threads()} says otherwise), so the results do not depend on the number
   * of jobs; the log and progress lines are released in the order of the one-thread run.
   */
  private static List<Run> runFractions(
      Settings s,
      List<Double> fractions,
      LlamaWeights w32,
      Tokenizer tok,
      Calibration.Probe probe,
      Calibration.Profile natural,
      List<Tensor> originalLogits,
      int[] layers,
      ContextTemplates templates,
      RomeHyperParams hp,
      OpContext ctx,
      EditLog log) {
    int nf = fractions.size(), np = s.policies().size();
    // Claim order: calibrations 0 and 1, the runs of 0, calibration 2, the runs of 1, ...: a
    // calibration is claimed before any run that needs it (so a run's wait always ends) and one
    // fraction ahead (so a second thread rarely waits); one thread gets the sequential order.
    List<int[]> tasks = new ArrayList<>(); // {fraction, policy or -1 for the calibration}
    tasks.add(new int[] {0, -1});
    for (int f = 0; f < nf; f++) {
      if (f + 1 < nf) {
        tasks.add(new int[] {f + 1, -1});
      }
      for (int p = 0; p < np; p++) {
        tasks.add(new int[] {f, p});
      }
    }
    List<CompletableFuture<Calibration.Result>> cals = new ArrayList<>(nf);
    for (int f = 0; f < nf; f++) {
      cals.add(new CompletableFuture<>());
    }
    Outcome[][] outcomes = new Outcome[nf][np];
    InOrder lines = new InOrder(nf * np);
    SideBySide.claimInOrder(
        tasks.size(),
        s.jobs(),
        i -> {
          int f = tasks.get(i)[0], p = tasks.get(i)[1];
          if (p < 0) {
            try {
              cals.get(f)
                  .complete(
                      Calibration.calibrate(
                          w32,
                          tok,
                          probe,
                          natural,
                          originalLogits,
                          fractions.get(f),
                          layers,
                          s.residualScale(),
                          ctx));
            } catch (RuntimeException | Error e) {
              cals.get(f).completeExceptionally(e);
              throw e;
            }
            return;
          }
          Calibration.Result cal;
          try {
            cal = cals.get(f).join();
          } catch (CompletionException | CancellationException e) {
            lines.finish(f * np + p);
            return; // the calibration's own task reports its failure
          }
          int k = f * np + p;
          try {
            Settings own = s.toBuilder().progress(lines.to(k, s.progress())).build();
            EditLog runLog = f == 0 ? lines.to(k, log::line)::accept : EditLog.NONE;
            outcomes[f][p] =
                sequential(
                    own,
                    cal,
                    s.policies().get(p),
                    tok,
                    hp,
                    templates,
                    ctx,
                    f == 0 ? s.edits() : s.sweepEdits(),
                    runLog);
          } finally {
            lines.finish(k);
          }
        });
    List<Run> runs = new ArrayList<>(nf);
    for (int f = 0; f < nf; f++) {
      Calibration.Result cal = cals.get(f).join();
      runs.add(
          new Run(
              fractions.get(f), cal.factors(), cal.maxRelativeDifference(), List.of(outcomes[f])));
    }
    return runs;
  }

  /** One precision's sequential run on a fresh model over the calibrated weights. */
  private static Outcome sequential(
      Settings s,
      Calibration.Result cal,
      String policyName,
      Tokenizer tok,
      RomeHyperParams hp,
      ContextTemplates templates,
      OpContext ctx,
      int edits,
      EditLog log) {
    PrecisionPolicy policy = PrecisionPolicy.named(policyName);
    // the FP32 run edits its own heap copy of W_down (LlamaModel.writableDownProj): the calibrated
    // weights are only read, by every run
    LlamaWeights w =
        policy.storage() == FloatFormat.FP32 ? cal.weights() : cal.weights().to(policy.storage());
    LlamaModel model = LlamaModel.of(w.config(), w);
    String tag = String.format(Locale.ROOT, "[stress %.3g %s]", cal.fraction(), policy.name());
    return sequential(s, model, tok, hp, templates, policy, ctx, edits, log, tag);
  }

  /**
   * Sequential edits without restore in one precision, until {@code edits} or the failure + after.
   */
  static Outcome sequential(
      Settings s,
      LlamaModel model,
      Tokenizer tok,
      RomeHyperParams hp,
      ContextTemplates templates,
      PrecisionPolicy policy,
      OpContext ctx,
      int edits,
      EditLog log,
      String tag) {
    TraceContext tc = new TraceContext();
    AnomalyTracer anomaly = AnomalyTracer.recording(tc);
    StageTracer stages = new StageTracer(tc);
    OpContext c = ctx.withTracer(CompositeTracer.of(stages, anomaly));
    GenerateFast gen = new GenerateFast(model, tok, policy, c);
    SplittableRandom fluencyRng = new SplittableRandom(s.seed() + 1);
    List<EditRequest> requests = new ArrayList<>();
    for (int i = 0; i < edits; i++) {
      requests.add(s.records().get(i % s.records().size()));
    }
    Watch w = new Watch();
    EditSession.run(
        model,
        new RomeEditor(model, tok, hp, templates, null),
        EditContext.of(policy, c, log).withStages(stages::enter),
        new EditSession.Plan(requests, 1, true, false),
        new EditSession.Hooks<Boolean>() {
          @Override
          public void beforeEdit(int i) {
            tc.setRecord(i).setStep(-1);
          }

          @Override
          public void beforeWrite(int i, WeightUpdate update) {
            stages.enter("rank-one update");
          }

          @Override
          public Boolean after(EditSession.Applied a, List<Evaluator.Evaluated> pre) {
            return w.afterEdit(a, s, stages, anomaly, gen, fluencyRng, edits, tag);
          }

          @Override
          public boolean stop(Boolean stop) {
            return stop;
          }
        });
    String report = anomaly.first().map(FirstNonFinite::report).orElse("");
    return new Outcome(
        policy.name(),
        w.run,
        Optional.ofNullable(w.failure),
        w.nanLoss,
        w.nanWeights,
        w.multinomial,
        w.multinomialMessage,
        stages.peak(),
        w.last,
        report);
  }

  /** What one precision's sequential run has seen so far. */
  private static final class Watch {
    Failure failure;
    int[] nanLoss;
    int nanWeights = -1;
    int multinomial = -1;
    int run;
    String multinomialMessage = "";
    String last = "";

    /** Checks edit {@code a} and runs its fluency generation; true to stop the run. */
    boolean afterEdit(
        EditSession.Applied a,
        Settings s,
        StageTracer stages,
        AnomalyTracer anomaly,
        GenerateFast gen,
        SplittableRandom fluencyRng,
        int edits,
        String tag) {
      EditRequest req = a.batch().getFirst();
      int edit = a.edit() + 1;
      run = edit;
      for (Rome.LayerUpdate l : RomeEditor.outcome(a.update()).layers()) {
        for (TargetValue.Step st : l.value().steps()) {
          last = st.logLine(req.forRome().targetNew());
          if (nanLoss == null && !st.finite()) {
            nanLoss = new int[] {edit, st.iteration()};
          }
        }
        if (nanWeights < 0 && l.nonFiniteWeights() > 0) {
          nanWeights = edit;
        }
      }
      if (failure == null) {
        failure =
            anomaly.first().map(e -> new Failure(edit, e.at().context().label(), e)).orElse(null);
        if (failure == null && nanWeights == edit) {
          failure = new Failure(edit, "rank-one update", null);
        }
      }
      if (s.fluencyTokens() > 0) {
        stages.enter("fluency generation");
        try {
          gen.generateOne(req.filledPrompt(), s.fluencyTokens(), 5, fluencyRng);
        } catch (InvalidDistributionException e) {
          if (multinomial < 0) {
            multinomial = edit;
            multinomialMessage = e.getMessage();
          }
        }
        if (failure == null) {
          failure =
              anomaly.first().map(e -> new Failure(edit, e.at().context().label(), e)).orElse(null);
        }
      }
      s.progress()
          .accept(
              String.format(
                  Locale.ROOT,
                  "%s edit %d/%d done: %s%s",
                  tag,
                  edit,
                  edits,
                  last,
                  failure == null ? "" : " — non-finite since edit " + failure.edit()));
      return failure != null && edit - failure.edit() >= s.editsAfterFailure();
    }
  }

  /**
   * Stamps the stage on the trace context before each record reaches the anomaly tracer (the stages
   * ROME reports as it enters them — compute_u, compute_v, the key at the bare prompt that r
   * divides by — then the rank-one update and the fluency generation), and keeps the largest
   * |up_proj| or |silu(gate)·up| (the two outputs the MLP scale a_l multiplies) of any forward
   * pass, before rounding (so an overflowed value is counted at its true size).
   */
  private static final class StageTracer implements Tracer {
    private final TraceContext tc;
    private double peak;

    StageTracer(TraceContext tc) {
      this.tc = tc;
    }

    void enter(String s) {
      tc.setLabel(s);
    }

    double peak() {
      return peak;
    }

    @Override
    public boolean enabled() {
      return true;
    }

    @Override
    public void record(OpRecord r) {
      String site = r.site().name();
      if (r.phase() == Phase.FORWARD
          && (site.endsWith("." + Calibration.MLP_PRODUCT) || site.endsWith(".mlp.up_proj"))) {
        Tensor t = r.unrounded() != null ? r.unrounded() : r.output();
        // the largest finite |x| (NaN and ±inf skipped), one vector pass
        peak = Math.max(peak, TensorStats.of(t).maxAbs());
      }
    }
  }
}
