// Edit Succ. / Portability / Locality of MEMIT or AlphaEdit on an edit set (no fluency), with the
// existing evaluator (editing.eval.Evaluator): the figures of
// docs/lab/2026-12-06-memit-alphaedit.md.
//
//   scripts/editing/memit-figures.sh HPARAMS.yaml single|sequential|batch [POLICY] [DATA.json] [N] [log]
//
// single: edit, evaluate, restore, per record (EasyEdit's default); sequential: every edit stays and
// each record is evaluated right after its own edit (EasyEdit's sequential_edit=False with
// keep_original_weight=False); batch: all records in one MEMIT/AlphaEdit batch, then every record
// evaluated. C = E[k kᵀ] of each edit layer from mom2_dataset (first mom2_n_samples texts, 256 tokens
// each, FP32), context templates sampled with seed 42 on the unedited model.
import io.nanscope.editing.alphaedit.AlphaEdit;
import io.nanscope.editing.alphaedit.NullSpaceProjector;
import io.nanscope.editing.alphaedit.PreservedKeys;
import io.nanscope.editing.eval.EditResult;
import io.nanscope.editing.eval.EditSession;
import io.nanscope.editing.eval.EditSummary;
import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.eval.ModelProbes;
import io.nanscope.editing.hparams.AlphaEditHyperParams;
import io.nanscope.editing.hparams.EditHyperParams;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.MemitHyperParams;
import io.nanscope.editing.hparams.SecondMomentSettings;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.memit.Memit;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.stats.KeyStatistics;
import io.nanscope.editing.stats.TextCorpus;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

public class MemitFigures {
  public static void main(String[] args) throws Exception {
    Path hparams = Path.of(args[0]);
    EditHyperParams h0 = HyperParamsYaml.read(hparams).hparams();
    for (String lam : System.getenv().getOrDefault("LAMBDAS", "").split(",")) {
      EditHyperParams h = h0;
      if (!lam.isBlank() && h0 instanceof MemitHyperParams m) {
        h = new MemitHyperParams(m.algName(), m.modelName(), m.statsDir(), m.device(), m.layers(),
            m.layerSelection(), m.factToken(), m.valueOptimization(), m.secondMoment(), Double.parseDouble(lam),
            m.modules(), m.modelParallel(), m.maxLength(), m.batchSize());
        System.out.println("mom2_update_weight " + lam);
      }
      run(h, hparams, args);
    }
  }

  static void run(EditHyperParams h, Path hparams, String[] args) throws Exception {
    String mode = args[1];
    PrecisionPolicy policy = PrecisionPolicy.named(args.length > 2 ? args[2] : "fp32");
    Path data = Path.of(args.length > 3 ? args[3] : "configs/edits/tinystories-edits.json");
    Path modelDir = Path.of("models/stories260K");
    OpContext ctx = OpContext.DEFAULT;
    LlamaModel model = LlamaModel.load(modelDir, policy.storage());
    Tokenizer tok = Tokenizer.readFromDirectory(modelDir);
    SecondMomentSettings sm = h instanceof MemitHyperParams m ? m.secondMoment()
        : ((AlphaEditHyperParams) h).secondMoment();
    List<String> texts = TextCorpus.read(Path.of(sm.dataset())).first(sm.nSamples());
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    LlamaModel m0 = LlamaModel.load(modelDir, policy.storage());
    Map<Integer, double[]> cov = new HashMap<>();
    for (int layer : h.layers()) {
      cov.put(layer, KeyStatistics.compute(m0, tok, fp32, ctx, layer, texts, 256, Optional.empty(), i -> {}).moment());
    }
    TemplateGroups templates = TemplateGroups.sample(new GenerateFast(m0, tok, fp32, ctx), 42, "figures");
    System.out.println("Cached context templates " + templates.pythonList());
    List<EditRequest> records = EditDatasets.knowEdit(data);
    Evaluator evaluator = new Evaluator(new ModelProbes(model, tok, policy, ctx), null);
    Map<Integer, NullSpaceProjector> proj = new HashMap<>();
    if (h instanceof AlphaEditHyperParams a) {
      int f = model.config().hiddenDim();
      for (int layer : h.layers()) {
        NullSpaceProjector p = NullSpaceProjector.of(cov.get(layer), f, a.nullspaceThreshold());
        proj.put(layer, p);
        double[] ev = p.eigenvalues();
        System.out.printf(Locale.ROOT, "layer %d: %d of %d eigenvalues of C below %s (max %.4g, median %.4g, min %.4g)%n",
            layer, p.nullity(), f, a.nullspaceThreshold(), ev[0], ev[f / 2], ev[f - 1]);
      }
    }
    PreservedKeys preserved = new PreservedKeys();
    if (args.length > 4) {
      records = records.subList(0, Integer.parseInt(args[4]));
    }
    EditLog log = args.length > 5 ? System.out::println : EditLog.NONE;
    List<EditResult> results;
    long t0 = System.nanoTime();
    if (mode.equals("batch")) {
      List<io.nanscope.editing.eval.Evaluator.Evaluated> pre = new ArrayList<>();
      for (EditRequest r : records) {
        pre.add(evaluator.evaluate(r, null));
      }
      applyBatch(h, model, tok, records, templates, cov, proj, preserved, policy, ctx, log);
      results = new ArrayList<>();
      for (int i = 0; i < records.size(); i++) {
        Evaluator.Evaluated post = evaluator.evaluate(records.get(i), pre.get(i).localityIds());
        results.add(new EditResult(i, records.get(i), 0, pre.get(i).metrics(), post.metrics()));
      }
    } else {
      boolean sequential = mode.equals("sequential");
      results = EditSession.run(records, evaluator, (r, i) -> {
        Map<Integer, Tensor> saved = new HashMap<>();
        for (int layer : h.layers()) {
          saved.put(layer, model.writableDownProj(layer).copy());
        }
        applyBatch(h, model, tok, List.of(r), templates, cov, proj, preserved, policy, ctx, log);
        return () -> saved.forEach((layer, w) -> {
          Tensor dst = model.writableDownProj(layer);
          java.lang.foreign.MemorySegment.copy(w.segment(), 0, dst.segment(), 0, w.segment().byteSize());
        });
      }, sequential, i -> {});
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    EditSummary pre = EditSummary.of(results, true);
    EditSummary post = EditSummary.of(results, false);
    System.out.printf(Locale.ROOT, "%s %s %s %s: %d records, %.1f s%n", h.algName(), hparams, mode, policy.name(),
        records.size(), secs);
    System.out.println(EditSummary.table(pre, post));
  }

  static void applyBatch(EditHyperParams h, LlamaModel model, Tokenizer tok, List<EditRequest> batch,
      TemplateGroups templates, Map<Integer, double[]> cov, Map<Integer, NullSpaceProjector> proj,
      PreservedKeys preserved, PrecisionPolicy policy, OpContext ctx, EditLog log) {
    if (h instanceof MemitHyperParams m) {
      Memit.Outcome o = Memit.compute(model, tok, m, batch, templates, Memit.Options.of(policy, ctx, cov::get), log);
      Memit.apply(model, o, log);
      System.out.printf(Locale.ROOT, "final z losses %s%n", o.values().stream()
          .map(v -> String.format(Locale.ROOT, "%.3f", v.steps().getLast().loss())).toList());
    } else {
      AlphaEditHyperParams a = (AlphaEditHyperParams) h;
      AlphaEdit.Outcome o = AlphaEdit.compute(model, tok, a, batch, templates, proj::get, preserved,
          AlphaEdit.Options.of(policy, ctx, cov::get), log);
      AlphaEdit.apply(model, o, preserved, log);
    }
  }
}
