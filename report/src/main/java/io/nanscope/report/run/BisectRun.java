package io.nanscope.report.run;

import io.nanscope.editing.bisect.Bisection;
import io.nanscope.editing.bisect.Oracle;
import io.nanscope.editing.bisect.ReproOracle;
import io.nanscope.editing.bisect.SiteMap;
import io.nanscope.editing.bisect.StressOracle;
import io.nanscope.editing.bisect.Trial;
import io.nanscope.editing.bisect.Widening;
import io.nanscope.editing.hparams.EditHyperParams;
import io.nanscope.editing.hparams.FtHyperParams;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.LoadedHparams;
import io.nanscope.editing.hparams.Policies;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.OptimiserStateSite;
import io.nanscope.editing.repro.ReproPipeline;
import io.nanscope.editing.repro.Scenario;
import io.nanscope.editing.repro.StressScenario;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.io.AtomicFile;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.Phase;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.report.HeadroomGrid;
import io.nanscope.report.Heatmap;
import io.nanscope.report.Report;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * {@code nanscope bisect} as one library call: builds the bisected run (a {@code repro} scenario
 * through {@link ReproOracle}, or the stress scenario's failing edit through {@link StressOracle}),
 * runs the {@link Bisection}, prints every trial, writes the minimal set as a policy file, reads it
 * back the way {@code --policy FILE} does and re-runs it, and prints the one-line replay command;
 * optionally an HTML page with the trials and the minimal set on the site map.
 */
public final class BisectRun {

  /** The default labelled k.u override of disabling-edit, as {@code repro}. */
  public static final double DEFAULT_DIVISION_FACTOR = 5e-5;

  /**
   * The command's options, paths already defaulted.
   *
   * @param policy the original policy: a built-in name (the emitted file starts from it)
   * @param wide {@code fp32} or {@code bf16}
   * @param out the policy file to write (default {@code out/bisect/<scenario>-<policy>.yaml})
   * @param replay a policy file to run instead of searching, or null
   * @param report an HTML page to write, or null
   * @param defaults which of model, hparams, data were left at their defaults (for the replay
   *     command: only the others are spelled out)
   */
  public record Settings(
      String scenario,
      Path model,
      Path hparams,
      Path data,
      int dsSize,
      long seed,
      String policy,
      String wide,
      double lossTolerance,
      double accuracyTolerance,
      String context,
      boolean noFluency,
      int threads,
      Double divisionFactor,
      double mlpPeak,
      String layers,
      double residualScale,
      int edits,
      int stories,
      int storyTokens,
      Path out,
      Path replay,
      Path report,
      Path home,
      Set<String> defaults) {}

  private BisectRun() {}

  /**
   * Runs the bisection (or the replay); returns the exit code: 0 when the minimal set was found, is
   * 1-minimal and its policy file replays finite (or the replay passes), 1 otherwise.
   */
  public static int run(Settings s, PrintWriter o, PrintWriter err) throws IOException {
    Scenario sc = Scenario.named(s.scenario());
    if (!PrecisionPolicy.BUILT_IN.contains(s.policy().trim().toLowerCase(Locale.ROOT))) {
      throw new IllegalArgumentException(
          "--policy must be a built-in policy name, one of "
              + String.join(", ", PrecisionPolicy.BUILT_IN)
              + " (the emitted file starts from it), got '"
              + s.policy()
              + "'");
    }
    FloatFormat wide = FloatFormat.parse(s.wide());
    if (wide != FloatFormat.FP32 && wide != FloatFormat.BF16) {
      throw new IllegalArgumentException("--wide must be fp32 or bf16, got " + s.wide());
    }
    if (s.dsSize() < 1) {
      throw new IllegalArgumentException("--ds-size must be at least 1, got " + s.dsSize());
    }
    if (!s.context().equals("sampled") && !s.context().equals("bare")) {
      throw new IllegalArgumentException("--context must be sampled or bare, got " + s.context());
    }
    if (s.replay() != null && !Files.isRegularFile(s.replay())) {
      throw new IllegalArgumentException("--replay " + s.replay() + ": no such policy file");
    }
    Widening widening = new Widening(s.policy().trim().toLowerCase(Locale.ROOT), wide);
    Bisection.Settings bs =
        new Bisection.Settings(widening, s.lossTolerance(), s.accuracyTolerance());
    PrecisionPolicy replayPolicy =
        s.replay() == null ? null : Policies.resolve(s.replay().toString(), s.home());
    LoadedHparams<? extends EditHyperParams> loaded = HyperParamsYaml.read(s.hparams());
    EditHyperParams any = loaded.hparams();
    if (!(any instanceof RomeHyperParams)) {
      String alg = ReproRun.algorithmLabel(any);
      if (sc != Scenario.NATURAL) {
        throw new IllegalArgumentException(
            alg
                + " runs in the natural scenario only (disabling-edit overrides ROME's Division"
                + " Factor kᵀu, stress edits with ROME): use --scenario natural, or ROME/R-ROME");
      }
      if (!s.context().equals("sampled")) {
        throw new IllegalArgumentException(
            "--context bare is ROME's; " + alg + " samples its context templates");
      }
    }
    loaded.warnings().forEach(w -> err.println("warning: " + w));
    List<EditRequest> all = EditDatasets.read(s.data());
    long t0 = System.nanoTime();
    Oracle oracle =
        any instanceof RomeHyperParams h
            ? sc == Scenario.STRESS
                ? stressOracle(s, h, all, widening, err)
                : reproOracle(s, sc, h, all)
            : otherOracle(s, any, all, err);
    o.println("nanscope bisect: " + oracle.describe());
    o.println(
        String.format(
            Locale.ROOT,
            "original policy %s; candidates widened to %s; a trial passes when every value is"
                + " finite, each final loss is within %.3g nats and each accuracy within %.3g of the"
                + " FP32 run",
            widening.base(),
            wide.name(),
            s.lossTolerance(),
            s.accuracyTolerance()));
    o.println();
    o.println("trials:");
    Bisection b = new Bisection(oracle, bs, t -> o.println("  " + t.line()));
    if (replayPolicy != null) {
      b.reference();
      Trial t = b.trial("replay " + s.replay().getFileName(), replayPolicy, List.of());
      o.println();
      o.println(
          t.passes()
              ? "replay of " + s.replay() + ": passes (finite, within tolerance)"
              : "replay of " + s.replay() + ": FAILS (" + t.outcome() + ")");
      return t.passes() ? 0 : 1;
    }
    Bisection.Result r = b.search();
    o.println();
    o.println("candidates (search order, tightest first; " + r.candidates().size() + " sites):");
    r.candidates().stream()
        .limit(12)
        .forEach(c -> o.printf(Locale.ROOT, "  %3d  %-36s %s%n", c.rank(), c.site(), c.why()));
    if (r.candidates().size() > 12) {
      o.println("  … " + (r.candidates().size() - 12) + " more");
    }
    o.println();
    o.println("result: " + r.verdict());
    if (r.minimal().isEmpty()) {
      return 1;
    }
    List<String> minimal = r.minimal().get();
    o.println("minimal set (" + minimal.size() + " sites): " + minimal);
    o.println("1-minimality (each site removed in turn must fail):");
    for (int i = 0; i < r.minimality().size(); i++) {
      Trial c = r.minimality().get(i);
      o.printf(
          Locale.ROOT,
          "  without %-40s %s (trial #%d)%n",
          minimal.get(i),
          c.passes() ? "PASSES — not minimal" : "fails: " + c.outcome(),
          c.number());
    }
    o.println("Polygraphy-style prefix search (first N layers wide): " + r.polygraphy().describe());
    Path file =
        s.out() != null
            ? s.out()
            : Path.of("out", "bisect", sc.cliName() + "-" + widening.base() + ".yaml");
    String name = "bisect-" + sc.cliName() + "-" + widening.base();
    String yaml =
        widening.yaml(
            name,
            minimal,
            List.of(
                "Written by nanscope bisect: the minimal set of sites that must run in "
                    + wide.name()
                    + " for this run",
                "to finish finite and within tolerance of FP32 (" + minimal.size() + " sites).",
                oracle.describe().length() > 95
                    ? oracle.describe().substring(0, 95) + "…"
                    : oracle.describe()));
    if (file.getParent() != null) {
      Files.createDirectories(file.getParent());
    }
    AtomicFile.write(file, yaml);
    o.println();
    o.println("policy written to " + file + ":");
    yaml.lines().filter(l -> !l.startsWith("#")).forEach(l -> o.println("  " + l));
    PrecisionPolicy readBack = Policies.resolve(file.toString(), s.home());
    o.println();
    o.println("replay of the written file (read back as --policy reads it):");
    Trial replay = b.trial("replay " + file.getFileName(), readBack, minimal);
    o.println(
        "  "
            + (replay.passes()
                ? "passes: every value finite, metrics within tolerance"
                : "FAILS: " + replay.outcome()));
    o.println("replay command: " + replayCommand(s, sc, file));
    double total = (System.nanoTime() - t0) / 1e9;
    o.printf(
        Locale.ROOT,
        "%d trials, %.1f s in all (search %.1f s)%n",
        b.trials().size(),
        total,
        r.seconds());
    if (s.report() != null) {
      Report html = new Report("nanscope bisect");
      addToReport(html, r, b.trials(), yaml, oracle, replay);
      List<Path> written = html.write(s.report());
      o.println("report written to " + s.report() + " (" + written.size() + " files)");
    }
    return replay.passes() && r.oneMinimal() ? 0 : 1;
  }

  private static Oracle reproOracle(
      Settings s, Scenario sc, RomeHyperParams h, List<EditRequest> all) throws IOException {
    double factor = s.divisionFactor() != null ? s.divisionFactor() : DEFAULT_DIVISION_FACTOR;
    if (factor == 0 || !Double.isFinite(factor)) {
      throw new IllegalArgumentException(
          "--division-factor must be finite and non-zero, got " + factor);
    }
    List<EditRequest> records = all.subList(0, Math.min(s.dsSize(), all.size()));
    Tokenizer tok = Tokenizer.besideModel(s.model());
    Path modelPath = s.model();
    ReproPipeline.ModelSource source = storage -> LlamaModel.load(modelPath, storage);
    LlamaModel m = source.load(FloatFormat.FP32);
    ContextTemplates templates =
        s.context().equals("bare")
            ? ContextTemplates.bare()
            : ContextTemplates.sample(
                new GenerateFast(
                    m,
                    tok,
                    PrecisionPolicy.named("fp32"),
                    OpContext.DEFAULT.withThreads(s.threads())),
                h.contextTemplateLengthParams(),
                s.seed(),
                "sampled top-k 5 on the unedited model in fp32, shared by every trial");
    boolean disabling = sc == Scenario.DISABLING_EDIT;
    ReproPipeline.Settings settings =
        new ReproPipeline.Settings(
            h,
            records,
            templates,
            s.seed(),
            s.threads(),
            !s.noFluency(),
            disabling,
            disabling ? OptionalDouble.of(factor) : OptionalDouble.empty(),
            false,
            false);
    LlamaConfig config = m.config();
    return new ReproOracle(sc.cliName(), source, tok, settings, config.nLayers());
  }

  /**
   * MEMIT, AlphaEdit or FT in the natural scenario, each trial one {@code repro} pipeline run of
   * the algorithm ({@link ReproRun#otherEditor}: context templates and key statistics computed once
   * in FP32 and shared). Its sites: the model's, the update sites of MEMIT's and AlphaEdit's edited
   * layers, FT's optimiser state ({@code adam.<weight>}).
   */
  private static Oracle otherOracle(
      Settings s, EditHyperParams h, List<EditRequest> all, PrintWriter err) throws IOException {
    List<EditRequest> records = all.subList(0, Math.min(s.dsSize(), all.size()));
    Tokenizer tok = Tokenizer.besideModel(s.model());
    Path modelPath = s.model();
    ReproPipeline.ModelSource source = storage -> LlamaModel.load(modelPath, storage);
    ReproPipeline.EditorFactory factory =
        ReproRun.otherEditor(
            h, source, tok, s.seed(), s.threads(), s.home(), modelPath, err::println, err::println);
    int layers = LlamaModel.load(modelPath, FloatFormat.FP32).config().nLayers();
    boolean ft = h instanceof FtHyperParams;
    List<String> state =
        ft
            ? h.layers().stream()
                .sorted()
                .map(l -> OptimiserStateSite.of("layers." + l + ".mlp.down_proj.weight").name())
                .toList()
            : List.of();
    ReproPipeline.Settings settings =
        new ReproPipeline.Settings(
            null,
            records,
            null,
            s.seed(),
            s.threads(),
            !s.noFluency(),
            false,
            OptionalDouble.empty(),
            false,
            false);
    return new ReproOracle(
        Scenario.NATURAL.cliName(),
        source,
        tok,
        settings,
        SiteMap.sites(layers, ft ? List.of() : h.layers(), state),
        ReproRun.algorithmLabel(h),
        factory);
  }

  private static Oracle stressOracle(
      Settings s, RomeHyperParams h, List<EditRequest> all, Widening w, PrintWriter err)
      throws IOException {
    StressScenario.Settings st =
        StressScenario.Settings.builder(s.model(), h, all)
            .fraction(s.mlpPeak())
            .layers(s.layers())
            .residualScale(s.residualScale())
            .edits(s.edits())
            .sweep(List.of(), 0)
            .sampledTemplates(s.context().equals("sampled"))
            .fluencyTokens(s.noFluency() ? 0 : 100)
            .probe(s.stories(), s.storyTokens())
            .seed(s.seed())
            .threads(s.threads())
            .progress(err::println)
            .build();
    long t0 = System.nanoTime();
    StressScenario.Prepared p = StressScenario.prepare(st);
    err.printf(Locale.ROOT, "[bisect] calibrated in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    StressOracle.Located at =
        StressOracle.locate(st, p, w.policy(w.base(), List.of()), err::println);
    return new StressOracle(st, p, at);
  }

  /** The one line that re-runs the emitted policy. */
  static String replayCommand(Settings s, Scenario sc, Path file) {
    StringBuilder b = new StringBuilder("./nanscope ");
    if (sc == Scenario.STRESS) {
      b.append("bisect --scenario stress");
      b.append(
          String.format(Locale.ROOT, " --mlp-peak %s --edits %d", num(s.mlpPeak()), s.edits()));
      if (!s.layers().equals("late")) {
        b.append(" --layers ").append(s.layers());
      }
      if (s.residualScale() != 1) {
        b.append(" --residual-scale ").append(num(s.residualScale()));
      }
    } else {
      b.append("repro --scenario ").append(sc.cliName());
      if (sc == Scenario.DISABLING_EDIT) {
        b.append(" --no-sweep");
        if (s.divisionFactor() != null) {
          b.append(" --division-factor ").append(num(s.divisionFactor()));
        }
      }
    }
    if (sc != Scenario.STRESS) {
      b.append(" --ds-size ").append(s.dsSize());
    }
    if (!s.defaults().contains("model")) {
      b.append(" --model ").append(s.model());
    }
    if (!s.defaults().contains("hparams")) {
      b.append(" --hparams ").append(s.hparams());
    }
    if (!s.defaults().contains("data")) {
      b.append(" --data ").append(s.data());
    }
    if (s.seed() != 42) {
      b.append(" --seed ").append(s.seed());
    }
    if (s.context().equals("bare")) {
      b.append(" --context bare");
    }
    if (s.noFluency()) {
      b.append(" --no-fluency");
    }
    b.append(sc == Scenario.STRESS ? " --replay " : " --policy ").append(file);
    return b.toString();
  }

  private static String num(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.valueOf(v);
  }

  static void addToReport(
      Report html,
      Bisection.Result r,
      List<Trial> trials,
      String yaml,
      Oracle oracle,
      Trial replay) {
    html.heading("Precision bisection").text(r.target()).text(r.verdict());
    List<List<String>> rows = new ArrayList<>();
    for (Trial t : trials) {
      rows.add(
          List.of(
              String.valueOf(t.number()),
              t.purpose(),
              String.valueOf(t.sites().size()),
              t.outcome(),
              String.format(Locale.ROOT, "%.1f", t.seconds()),
              t.problem().or(t::offTolerance).orElse("")));
    }
    html.table(
        "trials, in the order run",
        List.of("#", "purpose", "sites", "outcome", "seconds", "why not"),
        rows);
    html.heatmap(siteMap(r, oracle));
    if (!r.original().stats().isEmpty()) {
      html.heatmap(
          HeadroomGrid.of(r.original().stats(), Phase.FORWARD, FloatFormat.FP16)
              .heatmap("FP16 headroom of the traced original run, forward (binades)"));
    }
    html.pre("the emitted policy (replay: " + replay.outcome() + ")", yaml);
  }

  /**
   * The model's site map: 0 (red) for a site of the minimal set, 1 (blue) for a candidate left
   * narrow, blank for a site that was no candidate.
   */
  static Heatmap siteMap(Bisection.Result r, Oracle oracle) {
    List<String> sites = oracle.sites();
    int layers = sites.stream().mapToInt(SiteMap::layer).max().orElse(-1) + 1;
    List<String> rowLabels = new ArrayList<>(SiteMap.IN_LAYER);
    List<String> global = sites.stream().filter(x -> SiteMap.layer(x) < 0).toList();
    rowLabels.addAll(global);
    List<String> cols = new ArrayList<>();
    for (int l = 0; l < layers; l++) {
      cols.add("L" + l);
    }
    cols.add(HeadroomGrid.MODEL_COLUMN);
    double[][] v = new double[rowLabels.size()][cols.size()];
    for (double[] row : v) {
      java.util.Arrays.fill(row, Double.NaN);
    }
    Set<String> minimal = Set.copyOf(r.minimal().orElse(List.of()));
    for (Bisection.Candidate c : r.candidates()) {
      int l = SiteMap.layer(c.site());
      int row = rowLabels.indexOf(l < 0 ? c.site() : SiteMap.inLayer(c.site()));
      int col = l < 0 ? cols.size() - 1 : l;
      v[row][col] = minimal.contains(c.site()) ? 0 : 1;
    }
    return new Heatmap(
        "minimal set: 0 = runs in " + r.widening().wide().name() + ", 1 = left narrow",
        rowLabels,
        cols,
        v,
        "site",
        0,
        1);
  }
}
