package io.nanscope.editing.rome;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.SubjectKey;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.RomeRequest;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * R-ROME against ROME on the same request: the same v*, the same u, and the update solved for the
 * template-averaged key k̄ (W' k̄ = v*) instead of the bare prompt's key k (W' k = v*), checked in
 * FP64 from the updated FP32 weights.
 */
class RRomeTest {

  static final Path ROOT = RomePrototypeParityTest.root();

  /** Three contexts, so that k̄ differs clearly from the bare prompt's k. */
  static final ContextTemplates CONTEXTS =
      new ContextTemplates(
          List.of("{}", "Once upon a time. {}", "The sun was shining and the birds sang. {}"),
          "test");

  static RomeHyperParams hparams(String file) throws Exception {
    String yaml =
        Files.readString(ROOT.resolve(file)).replace("v_num_grad_steps: 25", "v_num_grad_steps: 6");
    return HyperParamsYaml.parseRome(file, yaml).hparams();
  }

  @Test
  void rRomeSolvesForTheAveragedKeyAndRomeForThePromptsKey() throws Exception {
    PrecisionPolicy policy = PrecisionPolicy.named("fp32");
    Tokenizer tok = Tokenizer.readFromDirectory(ROOT.resolve("models/stories260K"));
    RomeRequest req = EditRequest.of("Tom", "{} was very", "happy").forRome();
    RomeHyperParams rome = hparams("configs/rome/stories260K.yaml");
    RomeHyperParams rRome = hparams("configs/r-rome/stories260K.yaml");
    assertThat(rRome.isRRome()).isTrue();
    Rome.LayerUpdate[] updates = new Rome.LayerUpdate[2];
    Tensor[] after = new Tensor[2];
    List<List<String>> logs = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      LlamaModel model = LlamaModel.load(ROOT.resolve("models/stories260K"), policy.storage());
      List<String> log = new ArrayList<>();
      Rome.Outcome o =
          Rome.compute(
              model,
              tok,
              i == 0 ? rome : rRome,
              req,
              CONTEXTS,
              Rome.Options.of(policy, OpContext.DEFAULT),
              log::add);
      Rome.apply(model, o, EditLog.NONE);
      updates[i] = o.layers().getFirst();
      after[i] = model.writableDownProj(updates[i].layer()).copy();
      logs.add(log);
    }
    LlamaModel model = LlamaModel.load(ROOT.resolve("models/stories260K"), policy.storage());
    int layer = updates[0].layer();
    float[] kBar =
        SubjectKey.mean(
            model,
            tok,
            policy,
            OpContext.DEFAULT,
            layer,
            CONTEXTS.around(req.promptTemplate()),
            req.subject());
    float[] k =
        SubjectKey.at(
                model, tok, policy, OpContext.DEFAULT, layer, req.promptTemplate(), req.subject())
            .input();
    // The same optimisation and the same left vector: only the update's key differs.
    assertThat(updates[1].value().target()).isEqualTo(updates[0].value().target());
    assertThat(updates[1].u()).isEqualTo(updates[0].u());
    float[] vStar = updates[0].value().target();
    assertThat(relDiff(kBar, k)).as("k̄ vs k").isGreaterThan(0.05);
    // Budget: W' and v* are FP32; W'x in FP64 differs from v* by the rounding of r·uᵀ and W + upd
    // (2⁻²⁴ of each of the 172 terms) and R-ROME's mean over contexts of W k_i in place of W k̄:
    // ≲ 1e-5 of ‖v*‖. The wrong key misses by the edit's size along u: ≫ 1e-3 here.
    assertThat(relDiff(times(after[0], k), vStar)).as("ROME: W' k = v*").isLessThan(1e-5);
    assertThat(relDiff(times(after[1], kBar), vStar)).as("R-ROME: W' k̄ = v*").isLessThan(1e-5);
    assertThat(relDiff(times(after[0], kBar), vStar)).as("ROME: W' k̄ ≠ v*").isGreaterThan(1e-3);
    assertThat(relDiff(times(after[1], k), vStar)).as("R-ROME: W' k ≠ v*").isGreaterThan(1e-3);
    // The division factors are k·u and k̄·u.
    assertThat(updates[0].divisionFactor())
        .isCloseTo(dot(k, updates[0].u()), org.assertj.core.data.Offset.offset(1e-5));
    assertThat(updates[1].divisionFactor())
        .isCloseTo(dot(kBar, updates[1].u()), org.assertj.core.data.Offset.offset(1e-5));
    assertThat(logs.get(1).getFirst())
        .isEqualTo("Using key modification method: use_random_prefix_keys");
    assertThat(logs.get(0)).noneMatch(l -> l.startsWith("Using key modification method"));
  }

  /** R-ROME's one forward over the contexts gives k̄ with the same bits as SubjectKey.mean. */
  @Test
  void templateMeanKeyIsSubjectKeyMean() throws Exception {
    for (String name : List.of("fp32", "pytorch-fp16")) {
      PrecisionPolicy policy = PrecisionPolicy.named(name);
      LlamaModel model = LlamaModel.load(ROOT.resolve("models/stories260K"), policy.storage());
      Tokenizer tok = Tokenizer.readFromDirectory(ROOT.resolve("models/stories260K"));
      List<String> texts = CONTEXTS.around("{} was very");
      Rome.TemplateMean tm =
          Rome.templateMean(
              model, tok, Rome.Options.of(policy, OpContext.DEFAULT), 1, texts, "Tom");
      assertThat(tm.input())
          .isEqualTo(SubjectKey.mean(model, tok, policy, OpContext.DEFAULT, 1, texts, "Tom"));
      assertThat(tm.output()).hasSize(model.config().dim());
    }
  }

  /**
   * enable_prompt_keys: the bare prompt's key in both places, v* = W k + δ (r_rome without
   * prefixes).
   */
  @Test
  void promptKeysUseTheBarePromptInBothPlaces() throws Exception {
    PrecisionPolicy policy = PrecisionPolicy.named("fp32");
    Tokenizer tok = Tokenizer.readFromDirectory(ROOT.resolve("models/stories260K"));
    String yaml =
        Files.readString(ROOT.resolve("configs/r-rome/stories260K.yaml"))
                .replace("v_num_grad_steps: 25", "v_num_grad_steps: 6")
            + "\nenable_prompt_keys: true\nenable_random_prefix_keys: false\n";
    RomeHyperParams hp = HyperParamsYaml.parseRome("prompt-keys", yaml).hparams();
    LlamaModel model = LlamaModel.load(ROOT.resolve("models/stories260K"), policy.storage());
    RomeRequest req = EditRequest.of("Tom", "{} was very", "happy").forRome();
    SubjectKey.AtToken bare =
        SubjectKey.at(
            model, tok, policy, OpContext.DEFAULT, 1, req.promptTemplate(), req.subject());
    List<String> log = new ArrayList<>();
    Rome.Outcome o =
        Rome.compute(
            model, tok, hp, req, CONTEXTS, Rome.Options.of(policy, OpContext.DEFAULT), log::add);
    Rome.LayerUpdate l = o.layers().getFirst();
    float[] u = Rome.unit(bare.input(), policy.storage());
    assertThat(l.u()).isEqualTo(u);
    float[] target = new float[bare.output().length];
    for (int i = 0; i < target.length; i++) {
      target[i] = bare.output()[i] + l.value().delta()[i];
    }
    assertThat(relDiff(times(l.updated(), bare.input()), target)).isLessThan(1e-5);
    assertThat(log.getFirst()).isEqualTo("Using key modification method: use_prompt_keys");
  }

  static float[] times(Tensor w, float[] x) {
    int c = Math.toIntExact(w.shape().dim(0));
    int f = Math.toIntExact(w.shape().dim(1));
    float[] y = new float[c];
    for (int i = 0; i < c; i++) {
      double s = 0;
      for (int j = 0; j < f; j++) {
        s += w.getDouble((long) i * f + j) * x[j];
      }
      y[i] = (float) s;
    }
    return y;
  }

  static double relDiff(float[] a, float[] b) {
    double d = 0;
    double n = 0;
    for (int i = 0; i < a.length; i++) {
      d += ((double) a[i] - b[i]) * ((double) a[i] - b[i]);
      n += (double) b[i] * b[i];
    }
    return Math.sqrt(d / n);
  }

  static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }
}
