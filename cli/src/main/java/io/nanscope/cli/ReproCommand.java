package io.nanscope.cli;

import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.LoadedHparams;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.FastGeneration;
import io.nanscope.editing.repro.Calibration;
import io.nanscope.editing.repro.DivisionFactorSweep;
import io.nanscope.editing.repro.ReproConclusion;
import io.nanscope.editing.repro.ReproPipeline;
import io.nanscope.editing.repro.ReproReport;
import io.nanscope.editing.repro.RunResult;
import io.nanscope.editing.repro.Scenario;
import io.nanscope.editing.repro.StressScenario;
import io.nanscope.editing.report.HeadroomGrid;
import io.nanscope.editing.report.Report;
import io.nanscope.editing.report.StepCurves;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.trace.JsonLines;
import io.nanscope.engine.trace.Phase;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LlamaWeights;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nanscope repro}: the fp16 NaN bug of EasyEdit ROME, side by side in FP32, BF16 and FP16. */
@Command(
    name = "repro",
    header = "The fp16 NaN bug of EasyEdit ROME on CPU: FP32 vs BF16 vs FP16 in labelled scenarios, first overflow named.",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the KnowEdit-style ROME pipeline (edit -> evaluate, incl. fluency generation with top-5",
      "multinomial) side by side in fp32, bf16 and fp16, with EasyEdit's log, a comparison table, the",
      "first-overflow report and a plain-language conclusion, for labelled scenarios:",
      "  natural         the model as it is (all precisions finish; the headroom report shows why)",
      "  disabling-edit  a LABELLED override of ROME's Division Factor k.u on the first record,",
      "                  then the next record edited on the edited model, plus a sweep of the override",
      "  stress          an exact magnitude calibration (late SwiGLU peaks at --mlp-peak of FP16's max;",
      "                  NOT Llama-2-7B magnitudes), sequential edits without restore, plus a peak sweep",
      "Deterministic: the same command prints the same numbers every run."
    })
public final class ReproCommand implements Callable<Integer> {

  /**
   * The documented default override: inside the window where FP16 fails through the down_proj output
   * (measured: fails at k.u <= 6e-5, finite at 8e-5; at 3e-5 and below r itself overflows).
   */
  static final double DEFAULT_DIVISION_FACTOR = 5e-5;

  static final List<String> SIDE_BY_SIDE = List.of("fp32", "pytorch-bf16", "pytorch-fp16");

  @Spec CommandSpec spec;

  @Option(names = "--scenario", paramLabel = "NAME",
      description = "natural, disabling-edit or stress (default: natural, then disabling-edit)")
  String scenario;

  @Option(names = "--model", paramLabel = "PATH", description = "model (default: models/stories260K)")
  Path model;

  @Option(names = "--hparams", paramLabel = "FILE",
      description = "EasyEdit ROME hyperparameters YAML (default: " + EditCommand.DEFAULT_HPARAMS + ")")
  Path hparams;

  @Option(names = "--data", paramLabel = "FILE",
      description = "edit records (default: " + EditCommand.DEFAULT_DATA + ")")
  Path data;

  @Option(names = "--ds-size", paramLabel = "N", defaultValue = "2",
      description = "use the first N records (default: ${DEFAULT-VALUE})")
  int dsSize;

  @Option(names = "--seed", defaultValue = "42", description = "seed of all sampling (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--policy", paramLabel = "LIST|auto",
      description = "comma-separated precision policies (default: fp32,pytorch-bf16,pytorch-fp16), or"
          + " 'auto': FP16 with the transactional fallback")
  String policy;

  @Option(names = "--fallback", paramLabel = "fp32|bf16", defaultValue = "fp32",
      description = "fallback precision of --policy auto (default: ${DEFAULT-VALUE})")
  String fallback;

  @Option(names = "--division-factor", paramLabel = "X",
      description = "disabling-edit: the LABELLED k.u override of the first record (default: 5e-5)")
  Double divisionFactor;

  @Option(names = "--sweep", paramLabel = "LIST", split = ",",
      description = "disabling-edit: k.u values to sweep (default: 1e-3,3e-4,1e-4,8e-5,6e-5,5e-5,4e-5,3e-5,1e-5)")
  List<Double> sweep;

  @Option(names = "--no-sweep", description = "disabling-edit: skip the sweep")
  boolean noSweep;

  @Option(names = "--sequential", description = "natural: keep every edit (no restore between records)")
  boolean sequential;

  @Option(names = "--context", paramLabel = "sampled|bare", defaultValue = "sampled",
      description = "ROME context templates: sampled as EasyEdit does (21, on the unedited FP32 model,"
          + " shared by every precision) or bare ({} only; faster) (default: ${DEFAULT-VALUE})")
  String context;

  @Option(names = "--no-fluency", description = "skip the fluency generation (the fp16 crash site!)")
  boolean noFluency;

  @Option(names = "--no-stats", description = "skip the per-site headroom stats (faster on big models)")
  boolean noStats;

  @Option(names = "--threads", defaultValue = "1", description = "GEMM threads (results do not depend on it)")
  int threads;

  @Option(names = "--out", paramLabel = "DIR", defaultValue = "out/repro",
      description = "where the first-overflow JSON reports go (default: ${DEFAULT-VALUE})")
  Path out;

  @Option(names = "--loss-scale", paramLabel = "none|dynamic", defaultValue = "none",
      description = "dynamic: GradScaler-style loss scaling of the delta's backward (not in EasyEdit;"
          + " helps FP16 gradient underflow, cannot help a forward overflow) (default: ${DEFAULT-VALUE})")
  String lossScale;

  @Option(names = "--mlp-peak", paramLabel = "FRACTION", defaultValue = "0.92",
      description = "stress: the late SwiGLU peak as a fraction of 65504, in (0, 1] (default: ${DEFAULT-VALUE})")
  double mlpPeak;

  @Option(names = "--layers", paramLabel = "late|all|L,L", defaultValue = "late",
      description = "stress: layers to calibrate (default: ${DEFAULT-VALUE})")
  String layers;

  @Option(names = "--residual-scale", paramLabel = "C", defaultValue = "1",
      description = "stress: also scale the residual stream by C (v_lr and wd x C: the same edit) (default: 1)")
  double residualScale;

  @Option(names = "--edits", paramLabel = "N", defaultValue = "20",
      description = "stress: sequential edits per precision, records cycled (default: ${DEFAULT-VALUE})")
  int stressEdits;

  @Option(names = "--peak-sweep", paramLabel = "LIST", split = ",",
      description = "stress: peak fractions to sweep (default: 0.5,0.6,0.7,0.8,0.9,0.95; --no-sweep skips it)")
  List<Double> peakSweep;

  @Option(names = "--sweep-edits", paramLabel = "N", defaultValue = "5",
      description = "stress: sequential edits per precision in each sweep run (default: ${DEFAULT-VALUE})")
  int sweepEdits;

  @Option(names = "--stories", paramLabel = "N", defaultValue = "24",
      description = "stress: stories sampled for the calibration probe set (default: ${DEFAULT-VALUE})")
  int stories;

  @Option(names = "--story-tokens", paramLabel = "N", defaultValue = "256",
      description = "stress: tokens per probe story, BOS counted (default: ${DEFAULT-VALUE})")
  int storyTokens;

  @Option(names = "--report", paramLabel = "FILE.html",
      description = "also write one self-contained offline HTML report (plots, PNG copies, the JSONL trace)")
  Path report;

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
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
      throw new IllegalArgumentException("--division-factor must be finite and non-zero, got " + factor);
    }
    Path modelPath = model != null ? model : ConvertCommand.defaultModel();
    Path hp = hparams != null ? hparams : EditCommand.home().resolve(EditCommand.DEFAULT_HPARAMS);
    Path dataPath = data != null ? data : EditCommand.home().resolve(EditCommand.DEFAULT_DATA);
    LoadedHparams<RomeHyperParams> loaded = HyperParamsYaml.readRome(hp);
    loaded.warnings().forEach(w -> err.println("warning: " + w));
    RomeHyperParams h = loaded.hparams();
    List<EditRequest> all = EditCommand.readRecords(dataPath);
    List<EditRequest> records = all.subList(0, Math.min(dsSize, all.size()));
    Tokenizer tok = Tokenizer.readFromDirectory(
        Files.isDirectory(modelPath) ? modelPath : modelPath.toAbsolutePath().getParent());
    ReproPipeline.ModelSource source = storage -> LlamaModel.load(modelPath, storage);

    o.println("nanscope repro: ROME (EasyEdit semantics) on " + modelPath + ", layers " + h.layers() + ", "
        + records.size() + " record(s) from " + dataPath + ", precisions "
        + modes.stream().map(ReproPipeline.Mode::label).toList() + ", seed " + seed
        + (lossScale.equals("dynamic") ? ", dynamic loss scaling of the delta's backward (not EasyEdit)" : ""));
    ContextTemplates templates;
    if (context.equals("bare")) {
      templates = ContextTemplates.bare();
    } else {
      PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
      LlamaModel m = source.load(fp32.storage());
      templates = ContextTemplates.sample(new FastGeneration(m, tok, fp32, OpContext.DEFAULT.withThreads(threads)),
          h.contextTemplateLengthParams(), seed, "sampled top-k 5 on the unedited model in fp32, shared by every precision");
    }
    o.println("Cached context templates " + templates.pythonList() + "   (" + templates.description() + ")");
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
      ReproPipeline.Settings settings = new ReproPipeline.Settings(h, records, templates, seed, threads, !noFluency,
          disabling || sequential, disabling ? OptionalDouble.of(factor) : OptionalDouble.empty(), !noStats,
          lossScale.equals("dynamic"));
      List<RunResult> runs = new ArrayList<>();
      for (ReproPipeline.Mode mode : modes) {
        o.println();
        o.println("--- " + mode.label() + " (policy " + mode.policy()
            + mode.fallback().map(f -> ", fallback " + f).orElse("") + ") ---");
        long t0 = System.nanoTime();
        RunResult r = ReproPipeline.run(source, tok, settings, mode, o::println);
        err.printf(Locale.ROOT, "[%s %s] %.1f s%n", sc.cliName(), mode.label(), (System.nanoTime() - t0) / 1e9);
        runs.add(r);
      }
      o.println();
      o.println("comparison (" + sc.cliName() + "):");
      o.print(ReproReport.comparisonTable(runs));
      if (!noStats && !disabling) {
        for (RunResult r : runs) {
          o.println();
          o.print(ReproReport.headroom(r));
        }
      }
      for (RunResult r : runs) {
        String report = ReproReport.firstOverflow(r);
        if (!report.isEmpty()) {
          o.println();
          o.print(report);
          Path file = out.resolve("first-overflow-" + sc.cliName() + "-" + fileLabel(r.label()) + ".json");
          ReproReport.writeFirstOverflowJson(file, sc.cliName(), r);
          o.println("  written to " + file);
        }
        r.fallbacks().forEach(line -> o.println("[" + r.label() + "] " + line));
      }
      Optional<DivisionFactorSweep.Result> sw = Optional.empty();
      if (disabling && !noSweep) {
        List<Double> values = sweep != null ? sweep : DivisionFactorSweep.DEFAULT_VALUES;
        List<String> policies = modes.stream().map(ReproPipeline.Mode::policy).distinct().toList();
        o.println();
        o.println("sweep of the k.u override (first record, faithful edit then the override's update and the"
            + " fluency generation):");
        DivisionFactorSweep.Result res =
            DivisionFactorSweep.run(source, tok, h, templates, records.getFirst(), policies, values, seed, threads);
        o.print(res.table());
        sw = Optional.of(res);
      }
      o.println();
      o.println("conclusion (" + sc.cliName() + "):");
      String conclusion = disabling ? ReproConclusion.disablingEdit(runs, sw) : ReproConclusion.natural(runs);
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
    return 0;
  }

  /** The stress options, checked before any scenario runs (the layers against the model's config). */
  private void checkStressOptions() throws IOException {
    Calibration.checkFraction(mlpPeak);
    if (peakSweep != null) {
      peakSweep.forEach(Calibration::checkFraction);
    }
    if (stressEdits < 1 || sweepEdits < 0 || stories < 0 || storyTokens < 2) {
      throw new IllegalArgumentException("stress: need --edits >= 1, --sweep-edits >= 0, --stories >= 0 and"
          + " --story-tokens >= 2; got " + stressEdits + ", " + sweepEdits + ", " + stories + ", " + storyTokens);
    }
    if (!(residualScale > 0 && Double.isFinite(residualScale))) {
      throw new IllegalArgumentException("--residual-scale must be finite and > 0, got " + residualScale);
    }
    Path modelPath = model != null ? model : ConvertCommand.defaultModel();
    Calibration.parseLayers(layers, LlamaWeights.read(modelPath).config().nLayers());
  }

  /** The stress scenario: calibrate, sequential edits without restore per precision, the peak sweep. */
  private void stress(RomeHyperParams h, List<EditRequest> all, Path modelPath, Report html, PrintWriter o,
      PrintWriter err) {
    if (policy != null && policy.trim().equalsIgnoreCase("auto")) {
      throw new IllegalArgumentException("the stress scenario compares fixed precisions; --policy auto is not"
          + " supported there (give a list such as pytorch-fp16,fp32)");
    }
    List<String> policies = policy == null ? List.of("pytorch-fp16", "pytorch-bf16", "fp32")
        : List.of(policy.split(",")).stream().map(String::trim).toList();
    StressScenario.Settings s = StressScenario.Settings.builder(modelPath, h, all).fraction(mlpPeak).layers(layers)
        .residualScale(residualScale).policies(policies).edits(stressEdits)
        .sweep(noSweep ? List.of() : peakSweep != null ? peakSweep : StressScenario.Settings.DEFAULT_SWEEP,
            noSweep ? 0 : sweepEdits)
        .sampledTemplates(context.equals("sampled")).fluencyTokens(noFluency ? 0 : 100).probe(stories, storyTokens)
        .seed(seed).threads(threads).progress(err::println).build();
    StressScenario.Report r = StressScenario.run(s, o::println);
    o.println();
    o.print(r.table());
    for (StressScenario.Outcome oc : r.main().outcomes()) {
      oc.failure().filter(f -> f.event() != null).ifPresent(f -> {
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

  /** The scenario's section of the HTML report: table, curves, headroom heatmap, first event, fallbacks, sweep. */
  private void addToReport(Report html, Scenario sc, List<RunResult> runs, Optional<DivisionFactorSweep.Result> sw,
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
        html.heatmap(HeadroomGrid.of(r.headroom(), Phase.FORWARD, FloatFormat.FP16)
            .heatmap("FP16 headroom of the edit's forward, " + r.label() + " (binades)"));
      }
      if (r.anomaly().first().isPresent()) {
        html.heading("First non-finite value, " + sc.cliName() + ", " + r.label());
        html.event(r.anomaly().first().get(), r.anomaly().chain());
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

  private List<ReproPipeline.Mode> modes() {
    String fb = switch (fallback.trim().toLowerCase(Locale.ROOT)) {
      case "fp32" -> "fp32";
      case "bf16", "pytorch-bf16" -> "pytorch-bf16";
      default -> throw new IllegalArgumentException("--fallback must be fp32 or bf16, got " + fallback);
    };
    if (policy != null && policy.trim().equalsIgnoreCase("auto")) {
      return List.of(ReproPipeline.Mode.auto(fb));
    }
    List<String> names = policy == null ? SIDE_BY_SIDE : List.of(policy.split(","));
    return names.stream().map(String::trim).map(ReproPipeline.Mode::fixed).toList();
  }

  private static String fileLabel(String label) {
    return label.replaceAll("[^A-Za-z0-9]+", "-").replaceAll("^-|-$", "");
  }
}
