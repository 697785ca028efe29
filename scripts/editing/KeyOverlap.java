// Key overlap of ROME's edit key with every token of the locality probes (a diagnostic for edit sets).
//
//   scripts/editing/key-overlap.sh [DATA.json] [HPARAMS.yaml]
//
// For each record: k̄ = the mean down_proj input at the subject's last token over the context templates
// (sampled as `nanscope edit` samples them, seed 42), exactly ROME's key. ROME changes the layer's output
// at any position p by r·(uᵀk_p) with u = k̄/‖k̄‖, i.e. by (k_p·k̄)/(k̄·k̄) times the change it makes at
// the subject. That ratio is printed for every token of every locality probe (prompt + " " + answer);
// a ratio near 1 means the probe gets the edit in full.
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.editing.keys.SubjectKey;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.PromptAnswer;
import io.nanscope.editing.request.RomeRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

public class KeyOverlap {
  public static void main(String[] args) throws Exception {
    Path data = Path.of(args.length > 0 ? args[0] : "configs/edits/tinystories-edits.json");
    Path hparams = Path.of(args.length > 1 ? args[1] : "configs/rome/stories260K.yaml");
    Path modelDir = Path.of("models/stories260K");
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    OpContext ctx = OpContext.DEFAULT;
    LlamaModel model = LlamaModel.load(modelDir, FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(modelDir);
    RomeHyperParams h = HyperParamsYaml.readRome(hparams).hparams();
    ContextTemplates templates = ContextTemplates.sample(new GenerateFast(model, tok, fp32, ctx),
        h.contextTemplateLengthParams(), 42, "key overlap");
    System.out.println("data " + data + ", hparams " + hparams + ", fp32; ratio = (k_p · k̄) / (k̄ · k̄)");
    for (int layer : h.layers()) {
      for (EditRequest r : EditDatasets.knowEdit(data)) {
        RomeRequest rome = r.forRome();
        float[] kbar = SubjectKey.mean(model, tok, fp32, ctx, layer, templates.around(rome.promptTemplate()),
            rome.subject());
        double kk = dot(kbar, kbar);
        System.out.printf(Locale.ROOT, "layer %d  %s  (%s)%n", layer, r.subject(), r.prompt());
        for (PromptAnswer probe : r.locality().getOrDefault("Relation_Specificity", List.of())) {
          int[] ids = tok.encode(probe.prompt() + " " + probe.answer(), true, false);
          Hooks hooks = Hooks.none();
          for (int p = 1; p < ids.length; p++) {
            hooks = hooks.captureDownProjInput(layer, 0, p);
          }
          SequenceOutput out = model.forward(new SequenceBatch(new int[][] {ids}), fp32, ctx, null, hooks);
          StringBuilder line = new StringBuilder();
          double max = Double.NEGATIVE_INFINITY;
          String at = "";
          for (int p = 1; p < ids.length; p++) {
            double ratio = dot(out.captured(Hooks.downProjInputKey(layer, 0, p)), kbar) / kk;
            line.append(String.format(Locale.ROOT, " %s:%.2f", tok.piece(ids[p]), ratio));
            if (ratio > max) {
              max = ratio;
              at = tok.piece(ids[p]);
            }
          }
          System.out.printf(Locale.ROOT, "  max %.2f at %-8s %s ->%s%n", max, at, probe.prompt(), line);
        }
      }
    }
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }
}
