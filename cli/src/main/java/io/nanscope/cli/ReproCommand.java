package io.nanscope.cli;

import io.nanscope.report.run.ReproRun;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code nanscope repro}: the fp16 NaN bug of EasyEdit ROME, side by side in FP32, BF16 and FP16.
 */
@Command(
    name = "repro",
    header =
        "The fp16 NaN bug of EasyEdit ROME on CPU: FP32 vs BF16 vs FP16 in labelled scenarios, first overflow named.",
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

  @Spec CommandSpec spec;

  @Option(
      names = "--scenario",
      paramLabel = "NAME",
      description = "natural, disabling-edit or stress (default: natural, then disabling-edit)")
  String scenario;

  @Option(
      names = "--model",
      paramLabel = "PATH",
      description = "model (default: models/stories260K)")
  Path model;

  @Option(
      names = "--hparams",
      paramLabel = "FILE",
      description =
          "EasyEdit hyperparameters YAML; its alg_name picks the algorithm (default: "
              + EditCommand.DEFAULT_HPARAMS
              + ")")
  Path hparams;

  @Option(
      names = "--alg",
      paramLabel = "NAME",
      description =
          "algorithm with its embedded-model hparams: ROME, R-ROME, MEMIT, AlphaEdit, FT-L, FT-M"
              + " (configs/<alg>/stories260K*.yaml); MEMIT, AlphaEdit and FT run the natural"
              + " scenario")
  String alg;

  /** The embedded model's hparams file of an algorithm name, case-insensitive. */
  static String hparamsOf(String alg) {
    return switch (alg.trim().toUpperCase(java.util.Locale.ROOT)) {
      case "ROME" -> "configs/rome/stories260K.yaml";
      case "R-ROME", "RROME" -> "configs/r-rome/stories260K.yaml";
      case "MEMIT" -> "configs/memit/stories260K.yaml";
      case "ALPHAEDIT" -> "configs/alphaedit/stories260K.yaml";
      case "FT-L", "FT" -> "configs/ft/stories260K.yaml";
      case "FT-M" -> "configs/ft/stories260K-ftm.yaml";
      default ->
          throw new IllegalArgumentException(
              "--alg "
                  + alg
                  + " is not known; expected ROME, R-ROME, MEMIT, AlphaEdit, FT-L or FT-M (or give"
                  + " --hparams FILE)");
    };
  }

  @Option(
      names = "--data",
      paramLabel = "FILE",
      description = "edit records (default: " + EditCommand.DEFAULT_DATA + ")")
  Path data;

  @Option(
      names = "--ds-size",
      paramLabel = "N",
      defaultValue = "2",
      description = "use the first N records (default: ${DEFAULT-VALUE})")
  int dsSize;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "seed of all sampling (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(
      names = "--policy",
      paramLabel = "LIST|auto",
      description =
          "comma-separated precision policies (default: fp32,pytorch-bf16,pytorch-fp16; names, policy"
              + " YAML files or names of those in configs/precision/), or 'auto': FP16 with the transactional fallback")
  String policy;

  @Option(
      names = "--fallback",
      paramLabel = "fp32|bf16",
      defaultValue = "fp32",
      description = "fallback precision of --policy auto (default: ${DEFAULT-VALUE})")
  String fallback;

  @Option(
      names = "--allow-unsafe-edits",
      description =
          "--policy auto: write an edit the edit-safety check predicts will overflow downstream"
              + " (a warning only, as fixed policies do) instead of refusing it")
  boolean allowUnsafeEdits;

  @Option(
      names = "--division-factor",
      paramLabel = "X",
      description = "disabling-edit: the LABELLED k.u override of the first record (default: 5e-5)")
  Double divisionFactor;

  @Option(
      names = "--sweep",
      paramLabel = "LIST",
      split = ",",
      description =
          "disabling-edit: k.u values to sweep (default: 1e-3,3e-4,1e-4,8e-5,6e-5,5e-5,4e-5,3e-5,1e-5)")
  List<Double> sweep;

  @Option(names = "--no-sweep", description = "disabling-edit: skip the sweep")
  boolean noSweep;

  @Option(
      names = "--sequential",
      description = "natural: keep every edit (no restore between records)")
  boolean sequential;

  @Option(
      names = "--context",
      paramLabel = "sampled|bare",
      defaultValue = "sampled",
      description =
          "ROME context templates: sampled as EasyEdit does (21, on the unedited FP32 model,"
              + " shared by every precision) or bare ({} only; faster) (default: ${DEFAULT-VALUE})")
  String context;

  @Option(
      names = "--no-fluency",
      description = "skip the fluency generation (the fp16 crash site!)")
  boolean noFluency;

  @Option(
      names = "--no-stats",
      description = "skip the per-site headroom stats (faster on big models)")
  boolean noStats;

  @Option(
      names = "--threads",
      defaultValue = "1",
      description = "GEMM threads (results do not depend on it)")
  int threads;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      defaultValue = "out/repro",
      description = "where the first-overflow JSON reports go (default: ${DEFAULT-VALUE})")
  Path out;

  @Option(
      names = "--loss-scale",
      paramLabel = "none|dynamic",
      defaultValue = "none",
      description =
          "dynamic: GradScaler-style loss scaling of the delta's backward (not in EasyEdit;"
              + " helps FP16 gradient underflow, cannot help a forward overflow) (default: ${DEFAULT-VALUE})")
  String lossScale;

  @Option(
      names = "--mlp-peak",
      paramLabel = "FRACTION",
      defaultValue = "0.92",
      description =
          "stress: the late SwiGLU peak as a fraction of 65504, in (0, 1] (default: ${DEFAULT-VALUE})")
  double mlpPeak;

  @Option(
      names = "--layers",
      paramLabel = "late|all|L,L",
      defaultValue = "late",
      description = "stress: layers to calibrate (default: ${DEFAULT-VALUE})")
  String layers;

  @Option(
      names = "--residual-scale",
      paramLabel = "C",
      defaultValue = "1",
      description =
          "stress: also scale the residual stream by C (v_lr and wd x C: the same edit) (default: 1)")
  double residualScale;

  @Option(
      names = "--edits",
      paramLabel = "N",
      defaultValue = "20",
      description =
          "stress: sequential edits per precision, records cycled (default: ${DEFAULT-VALUE})")
  int stressEdits;

  @Option(
      names = "--peak-sweep",
      paramLabel = "LIST",
      split = ",",
      description =
          "stress: peak fractions to sweep (default: 0.5,0.6,0.7,0.8,0.9,0.95; --no-sweep skips it)")
  List<Double> peakSweep;

  @Option(
      names = "--sweep-edits",
      paramLabel = "N",
      defaultValue = "5",
      description =
          "stress: sequential edits per precision in each sweep run (default: ${DEFAULT-VALUE})")
  int sweepEdits;

  @Option(
      names = "--stories",
      paramLabel = "N",
      defaultValue = "24",
      description =
          "stress: stories sampled for the calibration probe set (default: ${DEFAULT-VALUE})")
  int stories;

  @Option(
      names = "--story-tokens",
      paramLabel = "N",
      defaultValue = "256",
      description = "stress: tokens per probe story, BOS counted (default: ${DEFAULT-VALUE})")
  int storyTokens;

  @Option(
      names = "--report",
      paramLabel = "FILE.html",
      description =
          "also write one self-contained offline HTML report (plots, PNG copies, the JSONL trace)")
  Path report;

  @Override
  public Integer call() throws IOException {
    if (alg != null && hparams != null) {
      throw new IllegalArgumentException(
          "give --alg or --hparams, not both: the hparams file's alg_name picks the algorithm");
    }
    Path hp =
        alg != null
            ? EditCommand.home().resolve(hparamsOf(alg))
            : hparams != null ? hparams : EditCommand.home().resolve(EditCommand.DEFAULT_HPARAMS);
    ReproRun.run(
        new ReproRun.Settings(
            scenario,
            model != null ? model : ConvertCommand.defaultModel(),
            hp,
            data != null ? data : EditCommand.home().resolve(EditCommand.DEFAULT_DATA),
            dsSize,
            seed,
            policy,
            fallback,
            allowUnsafeEdits,
            divisionFactor,
            sweep,
            noSweep,
            sequential,
            context,
            noFluency,
            noStats,
            threads,
            out,
            lossScale,
            mlpPeak,
            layers,
            residualScale,
            stressEdits,
            peakSweep,
            sweepEdits,
            stories,
            storyTokens,
            report,
            EditCommand.home()),
        spec.commandLine().getOut(),
        spec.commandLine().getErr());
    return 0;
  }
}
