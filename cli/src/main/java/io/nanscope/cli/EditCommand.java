package io.nanscope.cli;

import io.nanscope.engine.io.AtomicFile;
import io.nanscope.editing.eval.EditResult;
import io.nanscope.editing.eval.EditSession;
import io.nanscope.editing.eval.EditSummary;
import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.eval.ModelProbes;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.LoadedHparams;
import io.nanscope.editing.hparams.ModuleTemplates;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.report.EditReport;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.Rome;
import io.nanscope.editing.rome.RomeEditor;
import io.nanscope.editing.stats.KeyStatistics;
import io.nanscope.editing.stats.SecondMoment;
import io.nanscope.editing.stats.SecondMomentFile;
import io.nanscope.editing.stats.SecondMomentProvenance;
import io.nanscope.editing.stats.TextCorpus;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.IntFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/** {@code nanscope edit}: EasyEdit-style ROME editing with pre/post metrics. */
@Command(
    name = "edit",
    header = "Edits the model with ROME (EasyEdit semantics): log lines, pre/post metrics, results JSON.",
    mixinStandardHelpOptions = true,
    description =
        "Edits the model with ROME (EasyEdit semantics) for each record of a data set, with EasyEdit's"
            + " log lines, pre- and post-edit metrics (rewrite, rephrase, portability, locality, fluency), a"
            + " summary table and an EasyEdit-shaped results JSON. Single-edit mode restores the weights after"
            + " each record (verified bit for bit); --sequential keeps every edit. A progress bar goes to"
            + " stderr. See docs/rome.md.")
public final class EditCommand implements Callable<Integer> {

  static final String DEFAULT_HPARAMS = "configs/rome/stories260K.yaml";
  static final String DEFAULT_DATA = "configs/edits/tinystories-edits.json";

  @Spec CommandSpec spec;

  @Option(names = "--model", paramLabel = "PATH", description = "model (default: models/stories260K)")
  Path model;

  @Option(names = "--hparams", paramLabel = "FILE",
      description = "EasyEdit ROME hyperparameters YAML (default: " + DEFAULT_HPARAMS + ")")
  Path hparams;

  @Option(names = "--data", paramLabel = "FILE",
      description = "edit records: KnowEdit, CounterFact or zsRE JSON (default: " + DEFAULT_DATA + ")")
  Path data;

  @Option(names = "--ds-size", paramLabel = "N", description = "use only the first N records")
  Integer dsSize;

  @Option(names = "--sequential", description = "keep every edit (no restore between records)")
  boolean sequential;

  @Option(names = "--policy", paramLabel = "NAME",
      description = "precision policy: fp32, pytorch-fp16, pytorch-bf16, naive-fp16, ... (default: fp32,"
          + " or pytorch-fp16 when the hparams say fp16: true)")
  String policyName;

  @Option(names = "--seed", defaultValue = "42", description = "seed of all sampling (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(names = "--no-fluency", description = "skip the fluency generation (faster)")
  boolean noFluency;

  @Option(names = "--threads", defaultValue = "1", description = "GEMM threads (results do not depend on it)")
  int threads;

  @Option(names = "--out", paramLabel = "FILE", description = "write the results JSON here")
  Path out;

  @Option(names = "--report", paramLabel = "FILE.html",
      description = "write a self-contained HTML report: loss and avg prob per step, edits, metrics (PNGs beside it)")
  Path report;

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Path modelPath = model != null ? model : ConvertCommand.defaultModel();
    Path hp = hparams != null ? hparams : home().resolve(DEFAULT_HPARAMS);
    Path dataPath = data != null ? data : home().resolve(DEFAULT_DATA);
    TraceCommand.checkWritable(report, "--report");
    LoadedHparams<RomeHyperParams> loaded = HyperParamsYaml.readRome(hp);
    loaded.warnings().forEach(w -> err.println("warning: " + w));
    RomeHyperParams h = loaded.hparams();
    PrecisionPolicy policy = Policies.resolve(policyName != null ? policyName : h.fp16() ? "pytorch-fp16" : "fp32");
    List<EditRequest> records = readRecords(dataPath);
    if (dsSize != null) {
      if (dsSize < 1) {
        throw new IllegalArgumentException("--ds-size must be at least 1, got " + dsSize);
      }
      records = records.subList(0, Math.min(dsSize, records.size()));
    }
    LlamaModel m = LlamaModel.load(modelPath, policy.storage());
    Tokenizer tok = Tokenizer.besideModel(modelPath);
    OpContext ctx = OpContext.DEFAULT.withThreads(threads);
    o.println("nanscope edit: ROME, " + records.size() + " record(s) from " + dataPath + ", policy "
        + policy.name() + ", " + (sequential ? "sequential (no restore)" : "single edits (restored)"));
    GenerateFast gen = new GenerateFast(m, tok, policy, ctx);
    ContextTemplates templates = ContextTemplates.sample(gen, h.contextTemplateLengthParams(), seed,
        "sampled top-k 5 on the unedited model, policy " + policy.name());
    o.println("Cached context templates " + templates.pythonList());
    SplittableRandom fluencyRng = new SplittableRandom(seed + 1);
    Evaluator evaluator = new Evaluator(new ModelProbes(m, tok, policy, ctx),
        noFluency ? null : prompt -> gen.generateOne(prompt, 100, 5, fluencyRng));
    Rome.Options options = Rome.Options.of(policy, ctx);
    if (h.secondMoment().adjustment()) {
      options = options.withKeySecondMoment(keySecondMoments(m, tok, h, policy, ctx, modelPath, err));
    }
    EditReport rep = new EditReport();
    RomeEditor editor = new RomeEditor(m, tok, h, templates, rep.wrap(options, "edit"), o::println, rep::add);
    int n = records.size();
    List<EditResult> results;
    try (Progress bar = Progress.start("edit", n, err)) {
      results = EditSession.run(records, evaluator, editor, sequential, i -> bar.stepTo(i + 1));
    }
    o.println();
    EditSummary pre = EditSummary.of(results, true), post = EditSummary.of(results, false);
    o.println(EditSummary.table(pre, post));
    if (out != null) {
      List<Map<String, Object>> json = new ArrayList<>();
      results.forEach(r -> json.add(r.toMap()));
      writeJson(out, json);
      o.println("results written to " + out);
    }
    if (report != null) {
      rep.build("nanscope edit: ROME, policy " + policy.name(), "ROME (EasyEdit semantics) on " + modelPath + ", "
          + records.size() + " record(s) from " + dataPath + ", hparams " + hp + ", policy " + policy.name() + ", "
          + (sequential ? "sequential (no restore)" : "single edits (restored)") + ", seed " + seed + ".", pre, post)
          .write(report);
      o.println("report written to " + report);
    }
    return 0;
  }

  /**
   * C = E[k kᵀ] per edited layer for {@code mom2_adjustment: true}: read from EasyEdit's cache path
   * under {@code stats_dir} when present, else computed from {@code mom2_dataset} (a text or JSONL
   * file) and saved there as EasyEdit-compatible .npz with its provenance.
   */
  static IntFunction<double[]> keySecondMoments(
      LlamaModel m, Tokenizer tok, RomeHyperParams h, PrecisionPolicy policy, OpContext ctx, Path modelPath,
      PrintWriter err) throws IOException {
    Map<Integer, double[]> byLayer = new java.util.HashMap<>();
    Path corpusPath = home().resolve(h.secondMoment().dataset());
    String dataset = corpusPath.getFileName().toString().replaceFirst("\\.[^.]*$", "");
    for (int layer : h.layers()) {
      String module = ModuleTemplates.atLayer(h.modules().rewriteModule(), layer);
      Path cache = SecondMomentFile.cachePath(home().resolve(h.statsDir()), modelPath.getFileName().toString(),
          dataset, module, h.secondMoment().dtype(), h.secondMoment().nSamples());
      SecondMoment c;
      if (Files.isRegularFile(cache)) {
        c = SecondMomentFile.read(cache);
        err.println("key second moment of " + module + " read from " + cache + " (" + c.count() + " keys)");
      } else {
        if (!Files.isRegularFile(corpusPath)) {
          throw new IllegalArgumentException("mom2_dataset " + corpusPath + " does not exist: give a text or JSONL"
              + " file, or set mom2_adjustment: false");
        }
        TextCorpus corpus = TextCorpus.read(corpusPath);
        List<String> texts = corpus.first(h.secondMoment().nSamples());
        SecondMomentProvenance prov = new SecondMomentProvenance(corpusPath.toString(), corpus.sha256(),
            texts.size(), 0, module, policy.storage().name(), KeyStatistics.ACCUMULATION, h.secondMoment().dtype(),
            modelPath.toString(), "", "nanscope " + Main.class.getPackage().getImplementationVersion());
        int n = texts.size();
        try (Progress bar = Progress.start("key statistics " + module, n, err)) {
          c = KeyStatistics.compute(m, tok, policy, ctx, layer, texts, 256, Optional.of(prov), i -> bar.stepTo(i + 1));
        }
        SecondMomentFile.write(cache, c, h.secondMoment().dtype(), h.secondMoment().nSamples());
        // Use C as stored (mom2_dtype, e.g. float32), so this run and every later run that reads the
        // cache edit with the same C.
        c = SecondMomentFile.read(cache);
        err.println("key second moment of " + module + " computed from " + n + " texts (" + c.count()
            + " keys), saved to " + cache);
      }
      byLayer.put(layer, c.moment());
    }
    return layer -> {
      double[] c = byLayer.get(layer);
      if (c == null) {
        throw new IllegalArgumentException("no key second moment for layer " + layer);
      }
      return c;
    };
  }

  static Path home() {
    String h = System.getProperty("nanscope.home");
    return h == null || h.isBlank() ? Path.of("") : Path.of(h);
  }

  /** KnowEdit, CounterFact or zsRE, told apart by their field names. */
  static List<EditRequest> readRecords(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("data file " + file + " does not exist; pass --data FILE");
    }
    String head = Files.readString(file);
    if (head.contains("\"src\"") && head.contains("\"alt\"")) {
      return EditDatasets.zsre(file);
    }
    if (head.contains("\"locality_prompt\"")) {
      return EditDatasets.counterFact(file);
    }
    return EditDatasets.knowEdit(file);
  }

  /** Writes JSON atomically ({@link AtomicFile}). */
  static void writeJson(Path target, Object value) throws IOException {
    ObjectMapper mapper = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
    AtomicFile.write(target, mapper.writeValueAsBytes(value));
  }
}
