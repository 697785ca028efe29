package io.nanscope.report.run;

import io.nanscope.editing.alphaedit.AlphaEditEditor;
import io.nanscope.editing.finetune.FineTune;
import io.nanscope.editing.finetune.FineTuneEditor;
import io.nanscope.editing.hparams.AlphaEditHyperParams;
import io.nanscope.editing.hparams.EditHyperParams;
import io.nanscope.editing.hparams.FtHyperParams;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.LoadedHparams;
import io.nanscope.editing.hparams.MemitHyperParams;
import io.nanscope.editing.hparams.Policies;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.hparams.SecondMomentSettings;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.memit.MemitEditor;
import io.nanscope.editing.repro.Calibration;
import io.nanscope.editing.repro.DivisionFactorSweep;
import io.nanscope.editing.repro.ReproConclusion;
import io.nanscope.editing.repro.ReproPipeline;
import io.nanscope.editing.repro.ReproReport;
import io.nanscope.editing.repro.RunResult;
import io.nanscope.editing.repro.Scenario;
import io.nanscope.editing.repro.SideBySide;
import io.nanscope.editing.repro.StressScenario;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.stats.KeySecondMoments;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.FloorTable;
import io.nanscope.engine.trace.JsonLines;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.report.HeadroomGrid;
import io.nanscope.report.Report;
import io.nanscope.report.StepCurves;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.IntFunction;

/**
 * {@code nanscope repro} as one library call: the labelled scenarios (natural, disabling-edit,
 * stress) side by side in each precision, each on the {@link
 * io.nanscope.editing.session.EditSession} through {@link ReproPipeline} and {@link
 * StressScenario}, with the comparison table, the headroom and first-overflow reports, the sweeps,
 * the conclusions and the optional HTML report.
 */
public final class ReproRun {

  /**
   * The documented default override: inside the window where FP16 fails through the down_proj
   * output (measured: fails at k.u <= 6e-5, finite at 8e-5; at 3e-5 and below r itself overflows).
   */
  public static final double DEFAULT_DIVISION_FACTOR = 5e-5;

  /** The precisions compared when no {@code --policy} is given. */
  public static final List<String> SIDE_BY_SIDE = List.of("fp32", "pytorch-bf16", "pytorch-fp16");

  /**
   * The command's options, paths already defaulted ({@code model}, {@code hparams}, {@code data});
   * null for an option not given where the command documents a default ({@code scenario}, {@code
   * policy}, {@code divisionFactor}, {@code sweep}, {@code peakSweep}, {@code report}). {@code
   * policy} is a comma-separated list of policy names or YAML files ({@link Policies}), or {@code
   * auto}; {@code home} is where named policy files are looked up.
   */
  public record Settings(
      String scenario,
      Path model,
      Path hparams,
      Path data,
      int dsSize,
      long seed,
      String policy,
      String fallback,
      boolean allowUnsafeEdits,
      Double divisionFactor,
      List<Double> sweep,
      boolean noSweep,
      boolean sequential,
      String context,
      boolean noFluency,
      boolean noStats,
      int threads,
      Path out,
      String lossScale,
      double mlpPeak,
      String layers,
      double residualScale,
      int stressEdits,
      List<Double> peakSweep,
      int sweepEdits,
      int stories,
      int storyTokens,
      Path report,
      Path home) {}

  private final String scenario;
  private final Path model;
  private final Path hparams;
  private final Path data;
  private final int dsSize;
  private final long seed;
  private final String policy;
  private final String fallback;
  private final boolean allowUnsafeEdits;
  private final Double divisionFactor;
  private final List<Double> sweep;
  private final boolean noSweep;
  private final boolean sequential;
  private final String context;
  private final boolean noFluency;
  private final boolean noStats;
  private final int threads;
  private final Path out;
  private final String lossScale;
  private final double mlpPeak;
  private final String layers;
  private final double residualScale;
  private final int stressEdits;
  private final List<Double> peakSweep;
  private final int sweepEdits;
  private final int stories;
  private final int storyTokens;
  private final Path report;
  private final Path home;

  private ReproRun(Settings s) {
    this.scenario = s.scenario();
    this.model = s.model();
    this.hparams = s.hparams();
    this.data = s.data();
    this.dsSize = s.dsSize();
    this.seed = s.seed();
    this.policy = s.policy();
    this.fallback = s.fallback();
    this.allowUnsafeEdits = s.allowUnsafeEdits();
    this.divisionFactor = s.divisionFactor();
    this.sweep = s.sweep();
    this.noSweep = s.noSweep();
    this.sequential = s.sequential();
    this.context = s.context();
    this.noFluency = s.noFluency();
    this.noStats = s.noStats();
    this.threads = s.threads();
    this.out = s.out();
    this.lossScale = s.lossScale();
    this.mlpPeak = s.mlpPeak();
    this.layers = s.layers();
    this.residualScale = s.residualScale();
    this.stressEdits = s.stressEdits();
    this.peakSweep = s.peakSweep();
    this.sweepEdits = s.sweepEdits();
    this.stories = s.stories();
    this.storyTokens = s.storyTokens();
    this.report = s.report();
    this.home = s.home();
  }

  /** Runs the scenarios; {@code o} gets the command's output, {@code err} timings and progress. */
  public static void run(Settings s, PrintWriter o, PrintWriter err) throws IOException {
    new ReproRun(s).run(o, err);
  }

  private void run(PrintWriter o, PrintWriter err) throws IOException {
    LoadedHparams<? extends EditHyperParams> any = HyperParamsYaml.read(hparams);
    if (!(any.hparams() instanceof RomeHyperParams)) {
      runOther(any, o, err);
      return;
    }
    List<Scenario> scenarios = scenarios();
    List<ReproPipeline.Mode> modes = modes();
    if (scenarios.contains(Scenario.STRESS)) {
      checkStressOptions();
    }
    if (dsSize < 1) {
      throw new IllegalArgumentException("--ds-size must be at least 1, got " + dsSize);
    }
    if (!lossScale.equals("none") && !lossScale.equals("dynamic")) {
      throw new IllegalArgumentException("--loss-scale must be none or dynamic, got " + lossScale);
    }
    if (!context.equals("sampled") && !context.equals("bare")) {
      throw new IllegalArgumentException("--context must be sampled or bare, got " + context);
    }
    double factor = divisionFactor != null ? divisionFactor : DEFAULT_DIVISION_FACTOR;
    if (factor == 0 || !Double.isFinite(factor)) {
      throw new IllegalArgumentException(
          "--division-factor must be finite and non-zero, got " + factor);
    }
    Path modelPath = model;
    Path hp = hparams;
    Path dataPath = data;
    LoadedHparams<RomeHyperParams> loaded = HyperParamsYaml.readRome(hp);
    loaded.warnings().forEach(w -> err.println("warning: " + w));
    RomeHyperParams h = loaded.hparams();
    List<EditRequest> all = EditDatasets.read(dataPath);
    List<EditRequest> records = all.subList(0, Math.min(dsSize, all.size()));
    Tokenizer tok = Tokenizer.besideModel(modelPath);
    ReproPipeline.ModelSource source = storage -> LlamaModel.load(modelPath, storage);

    o.println(
        header("ROME", modelPath, h.layers(), records.size(), dataPath, modes)
            + (lossScale.equals("dynamic")
                ? ", dynamic loss scaling of the delta's backward (not EasyEdit)"
                : ""));
    ContextTemplates templates;
    if (context.equals("bare")) {
      templates = ContextTemplates.bare();
    } else {
      PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
      LlamaModel m = source.load(fp32.storage());
      templates =
          ContextTemplates.sample(
              new GenerateFast(m, tok, fp32, OpContext.DEFAULT.withThreads(threads)),
              h.contextTemplateLengthParams(),
              seed,
              "sampled top-k 5 on the unedited model in fp32, shared by every precision");
    }
    o.println(
        "Cached context templates "
            + templates.pythonList()
            + "   ("
            + templates.description()
            + ")");
    Report html = report == null ? null : new Report("nanscope repro");
    for (Scenario sc : scenarios) {
      long started = System.nanoTime();
      o.println();
      o.println("=".repeat(100));
      o.println("scenario " + sc.cliName() + ": " + sc.description());
      o.println("=".repeat(100));
      if (sc == Scenario.STRESS) {
        stress(h, all, modelPath, html, o, err);
        err.printf(Locale.ROOT, "[%s] %.1f s%n", sc.cliName(), (System.nanoTime() - started) / 1e9);
        continue;
      }
      boolean disabling = sc == Scenario.DISABLING_EDIT;
      ReproPipeline.Settings settings =
          new ReproPipeline.Settings(
              h,
              records,
              templates,
              seed,
              threads,
              !noFluency,
              disabling || sequential,
              disabling ? OptionalDouble.of(factor) : OptionalDouble.empty(),
              !noStats,
              lossScale.equals("dynamic"));
      // the precisions are independent runs: side by side, their lines in the one-thread order
      List<RunResult> runs =
          SideBySide.map(
              modes,
              Runtime.getRuntime().availableProcessors(),
              o::println,
              err::println,
              (mode, out, timing) -> {
                out.accept("");
                out.accept(modeHeader(mode));
                long t0 = System.nanoTime();
                RunResult r = ReproPipeline.run(source, tok, settings, mode, out::accept);
                timing.accept(
                    String.format(
                        Locale.ROOT,
                        "[%s %s] %.1f s",
                        sc.cliName(),
                        mode.label(),
                        (System.nanoTime() - t0) / 1e9));
                return r;
              });
      o.println();
      o.println("comparison (" + sc.cliName() + "):");
      o.print(ReproReport.comparisonTable(runs));
      if (!noStats && !disabling) {
        for (RunResult r : runs) {
          o.println();
          o.print(ReproReport.headroom(r));
          o.print(floor(r));
        }
      }
      for (RunResult r : runs) {
        String report = ReproReport.firstOverflow(r);
        if (!report.isEmpty()) {
          o.println();
          o.print(report);
          o.print(elements(r));
          Path file =
              out.resolve("first-overflow-" + sc.cliName() + "-" + fileLabel(r.label()) + ".json");
          ReproReport.writeFirstOverflowJson(file, sc.cliName(), r);
          o.println("  written to " + file);
        }
        r.fallbacks().forEach(line -> o.println("[" + r.label() + "] " + line));
      }
      Optional<DivisionFactorSweep.Result> sw = Optional.empty();
      if (disabling && !noSweep) {
        List<Double> values = sweep != null ? sweep : DivisionFactorSweep.DEFAULT_VALUES;
        Map<String, PrecisionPolicy> byName = new LinkedHashMap<>();
        modes.forEach(m -> byName.putIfAbsent(m.policy().name(), m.policy()));
        List<PrecisionPolicy> policies = List.copyOf(byName.values());
        o.println();
        o.println(
            "sweep of the k.u override (first record, faithful edit then the override's update and the"
                + " fluency generation):");
        DivisionFactorSweep.Result res =
            DivisionFactorSweep.runPolicies(
                source, tok, h, templates, records.getFirst(), policies, values, seed, threads);
        o.print(res.table());
        sw = Optional.of(res);
      }
      o.println();
      o.println("conclusion (" + sc.cliName() + "):");
      String conclusion =
          disabling ? ReproConclusion.disablingEdit(runs, sw) : ReproConclusion.natural(runs);
      o.println(conclusion);
      if (html != null) {
        addToReport(html, sc, runs, sw, conclusion);
      }
      err.printf(Locale.ROOT, "[%s] %.1f s%n", sc.cliName(), (System.nanoTime() - started) / 1e9);
    }
    if (html != null) {
      List<Path> written = html.write(report);
      o.println();
      o.println("report written to " + report + " (" + written.size() + " files)");
    }
  }

  /** Rows of the floor-headroom table of a run. */
  static final int FLOOR_ROWS = 6;

  /**
   * Underflow beside the headroom report: the sites of the edits nearest FP16's bottom, with their
   * floor headroom and the share of values flushed to zero or made subnormal; empty without stats.
   */
  static String floor(RunResult r) {
    List<SiteStats> rows = FloorTable.nearest(r.headroom(), FloatFormat.FP16, FLOOR_ROWS);
    if (rows.isEmpty()) {
      return "";
    }
    return "floor headroom of the edits ("
        + r.label()
        + "; the sites nearest FP16's bottom: log2(min|x|>0 / 2^-24, the smallest subnormal) and"
        + " log2(min|x|>0 / 2^-14, the smallest normal), in binades; flushed = non-zero before"
        + " rounding, 0 after):\n"
        + FloorTable.render(rows, FloatFormat.FP16);
  }

  /**
   * The producer (the first event) and, when another op created the first NaN, the propagator, each
   * with its first offending elements traced to their place (layer, token, channel) and operands.
   */
  static String elements(RunResult r) {
    FirstNonFinite first = r.anomaly().first().orElseThrow();
    StringBuilder b =
        new StringBuilder(
            "  producer and propagator, with the operands of the first offending elements:\n");
    b.append(first.elementsReport("    "));
    r.anomaly()
        .firstNewNan()
        .filter(e -> e != first)
        .ifPresent(e -> b.append(e.elementsReport("    ")));
    return b.toString();
  }

  /**
   * MEMIT, AlphaEdit or FT in the natural scenario, side by side in each precision: the same
   * pipeline, comparison table, headroom, first-overflow report and conclusion as ROME's. The
   * context templates and the key statistics C are computed once, in FP32 on the unedited model,
   * and shared by every precision (as ROME's templates are), so the runs differ only in the edit's
   * numerics. The disabling-edit scenario overrides ROME's kᵀu and the stress scenario edits with
   * ROME, so neither applies here.
   */
  private void runOther(
      LoadedHparams<? extends EditHyperParams> loaded, PrintWriter o, PrintWriter err)
      throws IOException {
    EditHyperParams h = loaded.hparams();
    String alg = algorithmLabel(h);
    if (scenario != null && Scenario.named(scenario) != Scenario.NATURAL) {
      throw new IllegalArgumentException(
          alg
              + " runs in the natural scenario only (disabling-edit overrides ROME's Division"
              + " Factor kᵀu, stress edits with ROME): use --scenario natural, or a ROME or R-ROME"
              + " hparams file");
    }
    List<ReproPipeline.Mode> modes = modes();
    if (dsSize < 1) {
      throw new IllegalArgumentException("--ds-size must be at least 1, got " + dsSize);
    }
    if (!lossScale.equals("none")) {
      throw new IllegalArgumentException(
          "--loss-scale dynamic is implemented for ROME's v* only; drop it for " + alg);
    }
    if (!context.equals("sampled")) {
      throw new IllegalArgumentException(
          "--context bare is ROME's; " + alg + " samples its context templates");
    }
    loaded.warnings().forEach(w -> err.println("warning: " + w));
    List<EditRequest> all = EditDatasets.read(data);
    List<EditRequest> records = all.subList(0, Math.min(dsSize, all.size()));
    Path modelPath = model;
    Tokenizer tok = Tokenizer.besideModel(modelPath);
    ReproPipeline.ModelSource source = storage -> LlamaModel.load(modelPath, storage);
    o.println(header(alg, modelPath, h.layers(), records.size(), data, modes));
    ReproPipeline.EditorFactory factory =
        otherEditor(h, source, tok, seed, threads, home, modelPath, o::println, err::println);
    Scenario sc = Scenario.NATURAL;
    long started = System.nanoTime();
    o.println();
    o.println("=".repeat(100));
    o.println("scenario " + sc.cliName() + " (" + alg + "): " + sc.description());
    o.println("=".repeat(100));
    ReproPipeline.Settings settings =
        new ReproPipeline.Settings(
            null,
            records,
            null,
            seed,
            threads,
            !noFluency,
            sequential,
            OptionalDouble.empty(),
            !noStats,
            false);
    List<RunResult> runs = new ArrayList<>();
    for (ReproPipeline.Mode mode : modes) {
      o.println();
      o.println(modeHeader(mode));
      long t0 = System.nanoTime();
      runs.add(ReproPipeline.run(source, tok, settings, mode, o::println, factory));
      err.printf(
          Locale.ROOT,
          "[%s %s %s] %.1f s%n",
          sc.cliName(),
          alg,
          mode.label(),
          (System.nanoTime() - t0) / 1e9);
    }
    o.println();
    o.println("comparison (" + sc.cliName() + ", " + alg + "):");
    o.print(ReproReport.comparisonTable(runs));
    if (!noStats) {
      for (RunResult r : runs) {
        o.println();
        o.print(ReproReport.headroom(r));
      }
    }
    for (RunResult r : runs) {
      String text = ReproReport.firstOverflow(r);
      if (!text.isEmpty()) {
        o.println();
        o.print(text);
        Path file =
            out.resolve(
                "first-overflow-"
                    + sc.cliName()
                    + "-"
                    + fileLabel(alg)
                    + "-"
                    + fileLabel(r.label())
                    + ".json");
        ReproReport.writeFirstOverflowJson(file, sc.cliName(), r);
        o.println("  written to " + file);
      }
      r.fallbacks().forEach(line -> o.println("[" + r.label() + "] " + line));
    }
    o.println();
    o.println("conclusion (" + sc.cliName() + ", " + alg + "):");
    String conclusion = ReproConclusion.natural(runs);
    o.println(conclusion);
    if (report != null) {
      Report html = new Report("nanscope repro " + alg);
      addToReport(html, sc, runs, Optional.empty(), conclusion);
      List<Path> written = html.write(report);
      o.println();
      o.println("report written to " + report + " (" + written.size() + " files)");
    }
    err.printf(
        Locale.ROOT, "[%s %s] %.1f s%n", sc.cliName(), alg, (System.nanoTime() - started) / 1e9);
  }

  /**
   * The editor factory of MEMIT, AlphaEdit or FT as {@code repro} runs them (and {@code bisect}):
   * the context templates and the key statistics C computed once, in FP32 on the unedited model,
   * and shared by every run, so the runs differ only in the edit's numerics.
   *
   * @param out receives the "Cached context templates" line
   * @param progress receives the key statistics' progress
   */
  static ReproPipeline.EditorFactory otherEditor(
      EditHyperParams h,
      ReproPipeline.ModelSource source,
      Tokenizer tok,
      long seed,
      int threads,
      Path home,
      Path modelPath,
      java.util.function.Consumer<String> out,
      java.util.function.Consumer<String> progress)
      throws IOException {
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    OpContext ctx = OpContext.DEFAULT.withThreads(threads);
    LlamaModel unedited = source.load(fp32.storage());
    ReproPipeline.EditorFactory factory;
    if (h instanceof FtHyperParams ft) {
      factory = (m, t) -> new FineTuneEditor(m, t, ft, FineTune.Options.of(fp32, ctx));
    } else {
      TemplateGroups templates =
          TemplateGroups.sample(
              new GenerateFast(unedited, tok, fp32, ctx),
              seed,
              "sampled top-k 5 on the unedited model in fp32, shared by every precision");
      out.accept(
          "Cached context templates "
              + templates.pythonList()
              + "   ("
              + templates.description()
              + ")");
      SecondMomentSettings sm;
      String statsDir, module;
      if (h instanceof MemitHyperParams mh) {
        sm = mh.secondMoment();
        statsDir = mh.statsDir();
        module = mh.modules().rewriteModule();
      } else {
        AlphaEditHyperParams ah = (AlphaEditHyperParams) h;
        sm = ah.secondMoment();
        statsDir = ah.statsDir();
        module = ah.modules().rewriteModule();
      }
      IntFunction<double[]> c =
          KeySecondMoments.load(
              unedited,
              tok,
              fp32,
              ctx,
              new KeySecondMoments.Source(
                  home, statsDir, sm, module, h.layers(), modelPath, "nanscope repro"),
              KeySecondMoments.Progress.NONE,
              progress);
      factory =
          switch (h) {
            case MemitHyperParams mh -> (m, t) -> new MemitEditor(m, t, mh, templates, c);
            case AlphaEditHyperParams ah -> (m, t) -> new AlphaEditEditor(m, t, ah, templates, c);
            default -> throw new IllegalStateException("no repro editor for " + h.algName());
          };
    }
    return factory;
  }

  /** EasyEdit's alg_name, FT told apart by its objective (FT-L: prompt_last, FT-M: target_new). */
  static String algorithmLabel(EditHyperParams h) {
    if (h instanceof FtHyperParams ft) {
      return ft.objectiveOptimization().equals("prompt_last") ? "FT-L" : "FT-M";
    }
    return h.algName();
  }

  /**
   * The stress options, checked before any scenario runs (the layers against the model's config).
   */
  private void checkStressOptions() throws IOException {
    Calibration.checkFraction(mlpPeak);
    if (peakSweep != null) {
      peakSweep.forEach(Calibration::checkFraction);
    }
    if (stressEdits < 1 || sweepEdits < 0 || stories < 0 || storyTokens < 2) {
      throw new IllegalArgumentException(
          "stress: need --edits >= 1, --sweep-edits >= 0, --stories >= 0 and"
              + " --story-tokens >= 2; got "
              + stressEdits
              + ", "
              + sweepEdits
              + ", "
              + stories
              + ", "
              + storyTokens);
    }
    if (!(residualScale > 0 && Double.isFinite(residualScale))) {
      throw new IllegalArgumentException(
          "--residual-scale must be finite and > 0, got " + residualScale);
    }
    Path modelPath = model;
    Calibration.parseLayers(layers, LlamaWeights.read(modelPath).config().nLayers());
  }

  /**
   * The stress scenario: calibrate, sequential edits without restore per precision, the peak sweep.
   */
  private void stress(
      RomeHyperParams h,
      List<EditRequest> all,
      Path modelPath,
      Report html,
      PrintWriter o,
      PrintWriter err) {
    if (policy != null && policy.trim().equalsIgnoreCase("auto")) {
      throw new IllegalArgumentException(
          "the stress scenario compares fixed precisions; --policy auto is not"
              + " supported there (give a list such as pytorch-fp16,fp32)");
    }
    List<String> policies =
        policy == null
            ? List.of("pytorch-fp16", "pytorch-bf16", "fp32")
            : List.of(policy.split(",")).stream().map(String::trim).toList();
    StressScenario.Settings s =
        StressScenario.Settings.builder(modelPath, h, all)
            .fraction(mlpPeak)
            .layers(layers)
            .residualScale(residualScale)
            .policies(policies)
            .edits(stressEdits)
            .sweep(
                noSweep
                    ? List.of()
                    : peakSweep != null ? peakSweep : StressScenario.Settings.DEFAULT_SWEEP,
                noSweep ? 0 : sweepEdits)
            .sampledTemplates(context.equals("sampled"))
            .fluencyTokens(noFluency ? 0 : 100)
            .probe(stories, storyTokens)
            .seed(seed)
            .threads(threads)
            .progress(err::println)
            .build();
    StressScenario.Report r = StressScenario.run(s, o::println);
    o.println();
    o.print(r.table());
    for (StressScenario.Outcome oc : r.main().outcomes()) {
      oc.failure()
          .filter(f -> f.event() != null)
          .ifPresent(f -> {
            o.println();
            o.print(oc.report());
            Path file = out.resolve("first-overflow-stress-" + fileLabel(oc.policy()) + ".jsonl");
            JsonLines.write(file, List.of(f.event().toJson()));
            o.println("  written to " + file);
          });
    }
    o.println();
    o.println("conclusion (stress):");
    o.println(r.conclusion());
    if (html != null) {
      html.heading("Scenario stress").text(Scenario.STRESS.description()).text(r.conclusion());
      html.pre("stress: sequential edits on the calibrated model, and the peak sweep", r.table());
    }
  }

  /**
   * The scenario's section of the HTML report: table, curves, headroom heatmap, first event,
   * fallbacks, sweep.
   */
  private void addToReport(
      Report html,
      Scenario sc,
      List<RunResult> runs,
      Optional<DivisionFactorSweep.Result> sw,
      String conclusion) {
    html.heading("Scenario " + sc.cliName()).text(sc.description()).text(conclusion);
    html.pre("comparison", ReproReport.comparisonTable(runs));
    StepCurves curves = new StepCurves();
    for (RunResult r : runs) {
      for (var rec : r.records()) {
        rec.steps().forEach(step -> curves.record(r.label() + " edit " + rec.index(), step));
      }
    }
    curves.addTo(html);
    for (RunResult r : runs) {
      if (!r.headroom().isEmpty()) {
        html.heatmap(
            HeadroomGrid.of(r.headroom(), Phase.FORWARD, FloatFormat.FP16)
                .heatmap("FP16 headroom of the edit's forward, " + r.label() + " (binades)"));
        if (r.headroom().stream().anyMatch(s -> s.at().phase() == Phase.BACKWARD)) {
          html.heatmap(
              HeadroomGrid.floorOf(r.headroom(), Phase.BACKWARD, FloatFormat.FP16)
                  .heatmap(
                      "FP16 floor headroom of the edit's backward, "
                          + r.label()
                          + " (binades above 2^-24)"));
        }
      }
      if (r.anomaly().first().isPresent()) {
        html.heading("First non-finite value, " + sc.cliName() + ", " + r.label());
        FirstNonFinite first = r.anomaly().first().get();
        html.event(first, r.anomaly().chain());
        r.anomaly()
            .firstNewNan()
            .filter(e -> e != first)
            .ifPresent(e -> html.event("First NaN (" + e.role() + ")", e, List.of()));
        Path trace = out.resolve("trace-" + sc.cliName() + "-" + fileLabel(r.label()) + ".jsonl");
        r.anomaly().writeJsonl(trace);
        html.attach(trace, "the anomaly trace (events, then the chain) of " + r.label());
      }
      if (!r.fallbacks().isEmpty()) {
        html.list("fallback switches, " + r.label(), r.fallbacks());
      }
    }
    sw.ifPresent(res -> html.pre("sweep of the k.u override", res.table()));
  }

  private List<Scenario> scenarios() {
    if (scenario == null) {
      return List.of(Scenario.NATURAL, Scenario.DISABLING_EDIT, Scenario.STRESS);
    }
    return List.of(Scenario.named(scenario));
  }

  private List<ReproPipeline.Mode> modes() throws IOException {
    String fb =
        switch (fallback.trim().toLowerCase(Locale.ROOT)) {
          case "fp32" -> "fp32";
          case "bf16", "pytorch-bf16" -> "pytorch-bf16";
          default ->
              throw new IllegalArgumentException(
                  "--fallback must be fp32 or bf16, got " + fallback);
        };
    if (policy != null && policy.trim().equalsIgnoreCase("auto")) {
      ReproPipeline.Mode auto = ReproPipeline.Mode.auto(fb);
      return List.of(allowUnsafeEdits ? auto.allowingUnsafeEdits() : auto);
    }
    if (allowUnsafeEdits) {
      throw new IllegalArgumentException(
          "--allow-unsafe-edits applies to --policy auto only (other policies warn and write)");
    }
    List<String> names = policy == null ? SIDE_BY_SIDE : List.of(policy.split(","));
    List<ReproPipeline.Mode> modes = new ArrayList<>();
    for (String name : names) {
      modes.add(ReproPipeline.Mode.fixed(Policies.resolve(name.trim(), home)));
    }
    return modes;
  }

  private static String fileLabel(String label) {
    return label.replaceAll("[^A-Za-z0-9]+", "-").replaceAll("^-|-$", "");
  }

  /** The first line of the repro output: the algorithm, model, edit layers, records, precisions. */
  private String header(
      String alg,
      Path modelPath,
      List<Integer> layers,
      int records,
      Path data,
      List<ReproPipeline.Mode> modes) {
    return "nanscope repro: "
        + alg
        + " (EasyEdit semantics) on "
        + modelPath
        + ", layers "
        + layers
        + ", "
        + records
        + " record(s) from "
        + data
        + ", precisions "
        + modes.stream().map(ReproPipeline.Mode::label).toList()
        + ", seed "
        + seed;
  }

  /** The line that opens a mode's section of the repro output. */
  private static String modeHeader(ReproPipeline.Mode mode) {
    return "--- "
        + mode.label()
        + " (policy "
        + mode.policy().name()
        + mode.fallback().map(f -> ", fallback " + f.name()).orElse("")
        + ") ---";
  }
}
