package io.nanscope.report.run;

import io.nanscope.editing.alphaedit.AlphaEditEditor;
import io.nanscope.editing.eval.EditResult;
import io.nanscope.editing.eval.EditSummary;
import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.eval.ModelProbes;
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
import io.nanscope.editing.hparams.ValueOptimization;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.memit.MemitEditor;
import io.nanscope.editing.repro.EditSafety;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.Rome;
import io.nanscope.editing.rome.RomeEditor;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.EditSession;
import io.nanscope.editing.session.Editor;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.editing.stats.KeySecondMoments;
import io.nanscope.engine.io.AtomicFile;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.report.EditReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code nanscope edit} as one library call: reads the hparams and the data set, loads the model,
 * samples ROME's context templates, prepares the key statistics when the hparams adjust by them,
 * runs the {@link EditSession} with EasyEdit's metrics, and prints EasyEdit's log, the summary
 * table and where the results JSON and the HTML report went.
 */
public final class EditRun {

  private EditRun() {}

  /**
   * What to run (paths already defaulted by the caller).
   *
   * @param policy a policy name or YAML file ({@link Policies}); null: {@code fp32}, or {@code
   *     pytorch-fp16} when the hparams say {@code fp16: true}
   * @param dsSize use only the first N records; null for all
   * @param sequential keep every edit instead of restoring after each record
   * @param evalAtEnd with {@code sequential}: evaluate every record after all edits ({@link
   *     EditSession#evaluateAfterAll}), not right after its own
   * @param batchSize requests per update (1: one edit per record; MEMIT, AlphaEdit and FT take
   *     more)
   * @param out the results JSON, or null
   * @param report the HTML report, or null
   * @param home where relative paths of the hparams and named policies resolve
   * @param tool the tool and version recorded in computed key statistics
   */
  public record Settings(
      Path model,
      Path hparams,
      Path data,
      Integer dsSize,
      boolean sequential,
      boolean evalAtEnd,
      int batchSize,
      String policy,
      long seed,
      boolean fluency,
      int threads,
      Path out,
      Path report,
      Path home,
      String tool) {}

  /**
   * The end of a session, for a caller that keeps the edited model ({@code edit --save}).
   *
   * @param updates every update of the session in order, refused ones included
   */
  public record Edited(
      LlamaModel model,
      Tokenizer tokenizer,
      PrecisionPolicy policy,
      EditHyperParams hparams,
      List<WeightUpdate> updates) {}

  /** Called with the edited model after the summary, the results JSON and the report. */
  @FunctionalInterface
  public interface AfterEdits {
    void edited(Edited e) throws IOException;
  }

  /** Runs the edit; {@code o} gets the command's output, {@code err} warnings and progress. */
  public static void run(
      Settings s, PrintWriter o, PrintWriter err, KeySecondMoments.Progress progress)
      throws IOException {
    run(s, o, err, progress, null);
  }

  /**
   * {@link #run(Settings, PrintWriter, PrintWriter, KeySecondMoments.Progress)}, then {@code
   * after}.
   */
  public static void run(
      Settings s,
      PrintWriter o,
      PrintWriter err,
      KeySecondMoments.Progress progress,
      AfterEdits after)
      throws IOException {
    LoadedHparams<? extends EditHyperParams> loaded = HyperParamsYaml.read(s.hparams());
    loaded.warnings().forEach(w -> err.println("warning: " + w));
    EditHyperParams hparams = loaded.hparams();
    boolean fp16 = hparams instanceof RomeHyperParams r && r.fp16();
    PrecisionPolicy policy =
        Policies.resolve(
            s.policy() != null ? s.policy() : fp16 ? "pytorch-fp16" : "fp32", s.home());
    if (s.batchSize() < 1) {
      throw new IllegalArgumentException("--batch-size must be at least 1, got " + s.batchSize());
    }
    List<EditRequest> records = EditDatasets.read(s.data());
    if (s.dsSize() != null) {
      if (s.dsSize() < 1) {
        throw new IllegalArgumentException("--ds-size must be at least 1, got " + s.dsSize());
      }
      records = records.subList(0, Math.min(s.dsSize(), records.size()));
    }
    LlamaModel m = LlamaModel.load(s.model(), policy.storage());
    checkLayers(hparams, m.config().nLayers(), s.hparams());
    checkCorpus(hparams, s.home());
    Tokenizer tok = Tokenizer.besideModel(s.model());
    OpContext ctx = OpContext.DEFAULT.withThreads(s.threads());
    if (s.evalAtEnd() && !s.sequential()) {
      throw new IllegalArgumentException(
          "--eval-at-end evaluates after all edits of a sequential run: add --sequential");
    }
    String mode =
        s.sequential()
            ? s.evalAtEnd()
                ? "sequential (no restore), evaluated after all edits"
                : "sequential (no restore)"
            : "single edits (restored)";
    String alg = hparams.algName();
    o.println(
        "nanscope edit: "
            + alg
            + ", "
            + records.size()
            + " record(s) from "
            + s.data()
            + ", policy "
            + policy.name()
            + ", "
            + mode
            + (s.batchSize() > 1 ? ", batches of " + s.batchSize() : ""));
    GenerateFast gen = new GenerateFast(m, tok, policy, ctx);
    String sampled = "sampled top-k 5 on the unedited model, policy " + policy.name();
    KeyStats stats =
        (dir, settings, module, layers) ->
            KeySecondMoments.load(
                m,
                tok,
                policy,
                ctx,
                new KeySecondMoments.Source(
                    s.home(), dir, settings, module, layers, s.model(), s.tool()),
                progress,
                err::println);
    Editor editor =
        switch (hparams) {
          case RomeHyperParams h -> {
            ContextTemplates templates =
                ContextTemplates.sample(gen, h.contextTemplateLengthParams(), s.seed(), sampled);
            o.println("Cached context templates " + templates.pythonList());
            IntFunction<double[]> c =
                h.secondMoment().adjustment()
                    ? stats.load(
                        h.statsDir(), h.secondMoment(), h.modules().rewriteModule(), h.layers())
                    : null;
            yield new RomeEditor(m, tok, h, templates, c);
          }
          case MemitHyperParams h -> {
            TemplateGroups templates = TemplateGroups.sample(gen, s.seed(), sampled);
            o.println("Cached context templates " + templates.pythonList());
            yield new MemitEditor(
                m,
                tok,
                h,
                templates,
                stats.load(
                    h.statsDir(), h.secondMoment(), h.modules().rewriteModule(), h.layers()));
          }
          case AlphaEditHyperParams h -> {
            TemplateGroups templates = TemplateGroups.sample(gen, s.seed(), sampled);
            o.println("Cached context templates " + templates.pythonList());
            yield new AlphaEditEditor(
                m,
                tok,
                h,
                templates,
                stats.load(
                    h.statsDir(), h.secondMoment(), h.modules().rewriteModule(), h.layers()));
          }
          case FtHyperParams h -> new FineTuneEditor(m, tok, h, FineTune.Options.of(policy, ctx));
        };
    if (s.batchSize() > 1 && editor instanceof RomeEditor) {
      throw new IllegalArgumentException(
          "ROME edits one request per update: --batch-size "
              + s.batchSize()
              + " needs a batch-editing algorithm (MEMIT, AlphaEdit, FT)");
    }
    // the edit-safety check: a warning before a single-request update that would overflow
    // downstream in a 16-bit format is written (FP32 sites are not predicted, so FP32 costs
    // nothing)
    editor = EditSafety.checked(editor, m, tok, policy);
    SplittableRandom fluencyRng = new SplittableRandom(s.seed() + 1);
    Evaluator evaluator =
        new Evaluator(
            new ModelProbes(m, tok, policy, ctx),
            s.fluency() ? prompt -> gen.generateOne(prompt, 100, 5, fluencyRng) : null);
    EditReport rep = new EditReport();
    EditContext ec =
        EditContext.of(policy, ctx, o::println)
            .withSteps(rep.curves().listener("edit", TargetValue.StepListener.ALWAYS));
    List<EditResult> results;
    List<WeightUpdate> updates = new ArrayList<>();
    try (KeySecondMoments.Progress.Bar bar = progress.start("edit", records.size())) {
      Consumer<WeightUpdate> onUpdate =
          u -> {
            updates.add(u);
            if (u.detail() instanceof Rome.Outcome outcome) {
              rep.add(outcome);
            }
          };
      results =
          s.evalAtEnd()
              ? EditSession.evaluateAfterAll(
                  m,
                  editor,
                  ec,
                  records,
                  s.batchSize(),
                  evaluator,
                  onUpdate,
                  i -> bar.stepTo(i + 1))
              : EditSession.evaluate(
                  m,
                  editor,
                  ec,
                  new EditSession.Plan(records, s.batchSize(), s.sequential(), true),
                  evaluator,
                  onUpdate,
                  i -> bar.stepTo(i + 1));
    }
    o.println();
    EditSummary pre = EditSummary.of(results, true), post = EditSummary.of(results, false);
    o.println(EditSummary.table(pre, post));
    if (s.out() != null) {
      List<Map<String, Object>> json = new ArrayList<>();
      results.forEach(r -> json.add(r.toMap()));
      writeJson(s.out(), json);
      o.println("results written to " + s.out());
    }
    if (s.report() != null) {
      rep.build(
              "nanscope edit: " + alg + ", policy " + policy.name(),
              alg
                  + " (EasyEdit semantics) on "
                  + s.model()
                  + ", "
                  + records.size()
                  + " record(s) from "
                  + s.data()
                  + ", hparams "
                  + s.hparams()
                  + ", policy "
                  + policy.name()
                  + ", "
                  + mode
                  + ", seed "
                  + s.seed()
                  + ".",
              pre,
              post)
          .write(s.report());
      o.println("report written to " + s.report());
    }
    if (after != null) {
      after.edited(new Edited(m, tok, policy, hparams, updates));
    }
  }

  /**
   * The corpus of the key statistics must exist before templates are sampled (it is read, and
   * hashed for the cache key, only after them).
   */
  static void checkCorpus(EditHyperParams h, Path home) {
    SecondMomentSettings mom2 =
        switch (h) {
          case RomeHyperParams r -> r.secondMoment().adjustment() ? r.secondMoment() : null;
          case MemitHyperParams r -> r.secondMoment();
          case AlphaEditHyperParams r -> r.secondMoment();
          default -> null;
        };
    if (mom2 != null && !Files.isRegularFile(home.resolve(mom2.dataset()))) {
      throw new IllegalArgumentException(
          "mom2_dataset "
              + home.resolve(mom2.dataset())
              + " does not exist: give a text or JSONL file, or set mom2_adjustment: false");
    }
  }

  /**
   * Every edited layer must exist in the model: checked as soon as the model's config is known,
   * before templates, statistics or any edit.
   */
  static void checkLayers(EditHyperParams h, int nLayers, Path file) {
    for (int layer : h.layers()) {
      if (layer < 0 || layer >= nLayers) {
        throw new IllegalArgumentException(
            file
                + ": layers lists "
                + layer
                + " but the model has "
                + nLayers
                + " layers (0 to "
                + (nLayers - 1)
                + "); edit a layer that exists");
      }
    }
    ValueOptimization v =
        switch (h) {
          case RomeHyperParams r -> r.valueOptimization();
          case MemitHyperParams r -> r.valueOptimization();
          case AlphaEditHyperParams r -> r.valueOptimization();
          default -> null;
        };
    if (v != null && v.lossLayer() >= nLayers) {
      throw new IllegalArgumentException(
          file
              + ": v_loss_layer is "
              + v.lossLayer()
              + " but the model's last layer is "
              + (nLayers - 1)
              + "; set v_loss_layer to at most "
              + (nLayers - 1));
    }
  }

  /** Key statistics C of the edited layers, computed once and cached ({@link KeySecondMoments}). */
  @FunctionalInterface
  private interface KeyStats {
    IntFunction<double[]> load(
        String statsDir, SecondMomentSettings settings, String module, List<Integer> layers)
        throws IOException;
  }

  /** Writes JSON atomically ({@link AtomicFile}: temp sibling, fsync, rename). */
  public static void writeJson(Path target, Object value) throws IOException {
    ObjectMapper mapper = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
    AtomicFile.write(target, mapper.writeValueAsBytes(value));
  }
}
