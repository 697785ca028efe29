package io.nanscope.cli;

import io.nanscope.report.run.BisectRun;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code nanscope bisect}: the smallest set of named sites that must run in a wider format for a
 * failing run to finish finite and close to FP32 (delta debugging over sites, seeded by headroom).
 */
@Command(
    name = "bisect",
    header =
        "Precision bisection: the minimal set of sites to run in FP32 (or BF16) so a failing edit run finishes finite.",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a repro scenario (natural, disabling-edit) or the stress scenario's first failing edit",
      "under its policy, orders the sites that policy runs narrower than --wide by headroom (tightest",
      "first, from one traced run), and searches with delta debugging (ddmin) for a 1-minimal set of",
      "sites that must be wide so every value stays finite and the edit's metrics stay within the",
      "tolerances of the FP32 run. Prints every trial (sites, outcome, seconds), checks that removing",
      "any one site fails again, writes the set as a policy file that --policy FILE reads, re-runs",
      "that file, prints a one-line replay command, and compares with Polygraphy's search (the first",
      "N layers wide). Stress: the edits before the failing one are computed once under the original",
      "policy; each trial re-runs only the failing edit from the state just before it.",
      "Exit code: 0 found, 1-minimal and replayed finite; 1 otherwise; 2 bad input."
    })
public final class BisectCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = "--scenario",
      paramLabel = "NAME",
      defaultValue = "disabling-edit",
      description = "natural, disabling-edit or stress (default: ${DEFAULT-VALUE})")
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
          "algorithm with its embedded-model hparams, as repro --alg: ROME, R-ROME, MEMIT,"
              + " AlphaEdit, FT-L, FT-M; MEMIT, AlphaEdit and FT run the natural scenario")
  String alg;

  @Option(
      names = "--data",
      paramLabel = "FILE",
      description = "edit records (default: " + EditCommand.DEFAULT_DATA + ")")
  Path data;

  @Option(
      names = "--ds-size",
      paramLabel = "N",
      defaultValue = "1",
      description =
          "natural/disabling-edit: use the first N records (default: ${DEFAULT-VALUE}: the failing"
              + " first edit)")
  int dsSize;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "seed of all sampling (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(
      names = "--policy",
      paramLabel = "NAME",
      defaultValue = "pytorch-fp16",
      description = "the original (failing) built-in policy (default: ${DEFAULT-VALUE})")
  String policy;

  @Option(
      names = "--wide",
      paramLabel = "fp32|bf16",
      defaultValue = "fp32",
      description = "the format widened sites output (default: ${DEFAULT-VALUE})")
  String wide;

  @Option(
      names = "--loss-tolerance",
      paramLabel = "NATS",
      defaultValue = "0.25",
      description =
          "each edit's final loss may differ from the FP32 run's by this much (default: ${DEFAULT-VALUE})")
  double lossTolerance;

  @Option(
      names = "--accuracy-tolerance",
      paramLabel = "X",
      defaultValue = "0.25",
      description =
          "each mean rewrite accuracy and locality (0..1) may differ from FP32's by this much"
              + " (default: ${DEFAULT-VALUE})")
  double accuracyTolerance;

  @Option(
      names = "--context",
      paramLabel = "sampled|bare",
      defaultValue = "sampled",
      description =
          "EasyEdit's 21 sampled context templates, or the bare '{}' (default: ${DEFAULT-VALUE})")
  String context;

  @Option(names = "--no-fluency", description = "skip the fluency generation after each edit")
  boolean noFluency;

  @Option(
      names = "--division-factor",
      paramLabel = "X",
      description = "disabling-edit: the labelled k.u override of the first record (default: 5e-5)")
  Double divisionFactor;

  @Option(
      names = "--mlp-peak",
      paramLabel = "FRACTION",
      defaultValue = "0.92",
      description =
          "stress: the late SwiGLU peak as a fraction of 65504 (default: ${DEFAULT-VALUE})")
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
      description = "stress: also scale the residual stream by C (default: 1)")
  double residualScale;

  @Option(
      names = "--edits",
      paramLabel = "N",
      defaultValue = "60",
      description =
          "stress: the most sequential edits to run while looking for the first failing one"
              + " (default: ${DEFAULT-VALUE})")
  int edits;

  @Option(
      names = "--stories",
      paramLabel = "N",
      defaultValue = "24",
      description = "stress: stories of the calibration probe set (default: ${DEFAULT-VALUE})")
  int stories;

  @Option(
      names = "--story-tokens",
      paramLabel = "N",
      defaultValue = "256",
      description = "stress: tokens per probe story (default: ${DEFAULT-VALUE})")
  int storyTokens;

  @Option(
      names = "--threads",
      defaultValue = "1",
      description = "GEMM threads (results do not depend on it)")
  int threads;

  @Option(
      names = "--out",
      paramLabel = "FILE.yaml",
      description = "where to write the policy (default: out/bisect/<scenario>-<policy>.yaml)")
  Path out;

  @Option(
      names = "--replay",
      paramLabel = "FILE.yaml",
      description =
          "run this policy file on the same run (after the FP32 reference) instead of searching")
  Path replay;

  @Option(
      names = "--report",
      paramLabel = "FILE.html",
      description =
          "also write an offline HTML page: the trials and the minimal set on the site map")
  Path report;

  @Override
  public Integer call() throws IOException {
    if (alg != null && hparams != null) {
      throw new IllegalArgumentException(
          "give --alg or --hparams, not both: the hparams file's alg_name picks the algorithm");
    }
    if (alg != null) {
      hparams = EditCommand.home().resolve(ReproCommand.hparamsOf(alg));
    }
    Set<String> defaults = new HashSet<>();
    if (model == null) {
      defaults.add("model");
    }
    if (hparams == null) {
      defaults.add("hparams");
    }
    if (data == null) {
      defaults.add("data");
    }
    return BisectRun.run(
        new BisectRun.Settings(
            scenario,
            model != null ? model : ConvertCommand.defaultModel(),
            hparams != null ? hparams : EditCommand.home().resolve(EditCommand.DEFAULT_HPARAMS),
            data != null ? data : EditCommand.home().resolve(EditCommand.DEFAULT_DATA),
            dsSize,
            seed,
            policy,
            wide,
            lossTolerance,
            accuracyTolerance,
            context,
            noFluency,
            threads,
            divisionFactor,
            mlpPeak,
            layers,
            residualScale,
            edits,
            stories,
            storyTokens,
            out,
            replay,
            report,
            EditCommand.home(),
            defaults),
        spec.commandLine().getOut(),
        spec.commandLine().getErr());
  }
}
