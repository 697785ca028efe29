package io.nanscope.cli;

import io.nanscope.editing.save.SavedEdit;
import io.nanscope.editing.stats.KeySecondMoments;
import io.nanscope.llama.generate.InvalidDistributionException;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.StagedDirectory;
import io.nanscope.report.run.EditRun;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nanscope edit}: EasyEdit-style ROME editing with pre/post metrics. */
@Command(
    name = "edit",
    header =
        "Edits the model with ROME (EasyEdit semantics): log lines, pre/post metrics, results JSON.",
    mixinStandardHelpOptions = true,
    description =
        "Edits the model with ROME (EasyEdit semantics) for each record of a data set, with EasyEdit's"
            + " log lines, pre- and post-edit metrics (rewrite, rephrase, portability, locality, fluency), a"
            + " summary table and an EasyEdit-shaped results JSON. Single-edit mode restores the weights after"
            + " each record (verified bit for bit); --sequential keeps every edit. A progress bar goes to"
            + " stderr. See docs/guide/rome.md.")
public final class EditCommand implements Callable<Integer> {

  static final String DEFAULT_HPARAMS = "configs/rome/stories260K.yaml";
  static final String DEFAULT_DATA = "configs/edits/tinystories-edits.json";

  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      paramLabel = "PATH",
      description = "model (default: models/stories260K)")
  Path model;

  @Option(
      names = "--hparams",
      paramLabel = "FILE",
      description = "EasyEdit ROME hyperparameters YAML (default: " + DEFAULT_HPARAMS + ")")
  Path hparams;

  @Option(
      names = "--data",
      paramLabel = "FILE",
      description =
          "edit records: KnowEdit, CounterFact or zsRE JSON (default: " + DEFAULT_DATA + ")")
  Path data;

  @Option(names = "--ds-size", paramLabel = "N", description = "use only the first N records")
  Integer dsSize;

  @Option(names = "--sequential", description = "keep every edit (no restore between records)")
  boolean sequential;

  @Option(
      names = "--eval-at-end",
      description =
          "with --sequential: evaluate every record once, after all edits (EasyEdit's"
              + " sequential_edit=True) instead of right after its own edit")
  boolean evalAtEnd;

  @Option(
      names = "--batch-size",
      paramLabel = "N",
      defaultValue = "1",
      description =
          "requests per update: MEMIT, AlphaEdit and FT edit a batch at once; ROME takes 1"
              + " (default: ${DEFAULT-VALUE})")
  int batchSize;

  @Option(
      names = "--policy",
      paramLabel = "NAME",
      description =
          "precision policy: fp32, pytorch-fp16, pytorch-bf16, naive-fp16, ... (default: fp32,"
              + " or pytorch-fp16 when the hparams say fp16: true)")
  String policyName;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description = "seed of all sampling (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--no-fluency", description = "skip the fluency generation (faster)")
  boolean noFluency;

  @Option(
      names = "--threads",
      defaultValue = "1",
      description = "GEMM threads (results do not depend on it)")
  int threads;

  @Option(names = "--out", paramLabel = "FILE", description = "write the results JSON here")
  Path out;

  @Option(
      names = "--report",
      paramLabel = "FILE.html",
      description =
          "write a self-contained HTML report: loss and avg prob per step, edits, metrics (PNGs beside it)")
  Path report;

  @Option(
      names = "--save",
      paramLabel = "DIR",
      description =
          "with --sequential: write the edited model to DIR (a Hugging Face directory, must not"
              + " exist or be empty) with edit-manifest.json and the original weights, so that"
              + " 'nanscope revert DIR' restores the model bit for bit")
  Path save;

  @Override
  public Integer call() throws IOException {
    PrintWriter err = spec.commandLine().getErr();
    TraceCommand.checkWritable(report, "--report");
    TraceCommand.checkWritable(out, "--out");
    checkSave(save, sequential);
    Path modelPath = model != null ? model : ConvertCommand.defaultModel();
    Path hparamsPath = hparams != null ? hparams : home().resolve(DEFAULT_HPARAMS);
    try {
      EditRun.run(
          new EditRun.Settings(
              modelPath,
              hparamsPath,
              data != null ? data : home().resolve(DEFAULT_DATA),
              dsSize,
              sequential,
              evalAtEnd,
              batchSize,
              policyName,
              seed,
              !noFluency,
              threads,
              out,
              report,
              home(),
              tool()),
          spec.commandLine().getOut(),
          err,
          progress(err),
          save == null ? null : e -> saveEdited(e, modelPath, hparamsPath, save));
    } catch (InvalidDistributionException e) {
      // torch.multinomial's RuntimeError in the fluency generation: the edited model's logits are
      // not finite, and EasyEdit's run stops here too (#290)
      err.println(
          "nanscope edit: RuntimeError: "
              + e.getMessage()
              + " (fluency generation after an edit: the edited model's logits are not finite, where"
              + " EasyEdit's run stops too; `nanscope repro --hparams FILE` names the first overflow,"
              + " --no-fluency evaluates without generating)");
      return 1;
    }
    return 0;
  }

  /** {@code --save}: before any work, the directory must be usable and the edits kept. */
  static void checkSave(Path save, boolean sequential) throws IOException {
    if (save == null) {
      return;
    }
    if (!sequential) {
      throw new IllegalArgumentException(
          "--save keeps the edited model, but without --sequential every edit is undone after its"
              + " record is evaluated: add --sequential");
    }
    StagedDirectory.checkTarget(save, "--save");
  }

  private void saveEdited(EditRun.Edited e, Path modelPath, Path hparamsPath, Path dir)
      throws IOException {
    // the source model as the session loaded it, before any edit: the same file, same storage
    LlamaWeights original = LlamaModel.load(modelPath, e.policy().storage()).weights();
    SavedEdit.Saved saved =
        SavedEdit.save(
            original,
            e.model().weights(),
            e.tokenizer(),
            Files.isDirectory(modelPath) ? modelPath : modelPath.toAbsolutePath().getParent(),
            new SavedEdit.Edits(
                modelPath,
                tool(),
                hparamsPath,
                e.hparams().algName(),
                e.policy().name(),
                e.updates()),
            dir);
    spec.commandLine()
        .getOut()
        .println(
            "edited model saved to "
                + dir
                + " ("
                + saved.manifest().tensors().size()
                + " changed tensor(s), "
                + SavedEdit.MANIFEST
                + "); 'nanscope revert "
                + dir
                + "' restores the original");
  }

  /** Progress bars on stderr, for the library's long tasks. */
  static KeySecondMoments.Progress progress(PrintWriter err) {
    return (task, max) -> Progress.start(task, max, err);
  }

  /** The tool and version recorded in provenance. */
  static String tool() {
    String v = Main.class.getPackage().getImplementationVersion();
    return "nanscope " + (v == null ? "0.1.0-SNAPSHOT" : v);
  }

  static Path home() {
    String h = System.getProperty("nanscope.home");
    return h == null || h.isBlank() ? Path.of("") : Path.of(h);
  }
}
