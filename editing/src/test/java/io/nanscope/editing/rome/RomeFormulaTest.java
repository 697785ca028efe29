package io.nanscope.editing.rome;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.PyFloat;
import io.nanscope.editing.keys.SubjectKey;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.RomeRequest;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.WeightSnapshot;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ROME at formula level on the embedded model, with 6 optimisation steps and two context templates
 * to keep it fast (the full pipeline is checked by RomePrototypeParityTest).
 */
class RomeFormulaTest {

  static final Path ROOT = RomePrototypeParityTest.root();
  static final ContextTemplates TWO =
      new ContextTemplates(List.of("{}", "Once upon a time. {}"), "test");

  static RomeHyperParams fewSteps() throws Exception {
    String yaml =
        Files.readString(ROOT.resolve("configs/rome/stories260K.yaml"))
            .replace("v_num_grad_steps: 25", "v_num_grad_steps: 6");
    return HyperParamsYaml.parseRome("test", yaml).hparams();
  }

  /**
   * After W' = W + r uᵀ, W' k = v* where k is the bare prompt's key: v* is what the layer now
   * outputs.
   */
  @Test
  void updatedLayerMapsTheKeyToTheTargetValue() throws Exception {
    for (String name : List.of("fp32", "pytorch-bf16", "pytorch-fp16")) {
      PrecisionPolicy policy = PrecisionPolicy.named(name);
      LlamaModel model = LlamaModel.load(ROOT.resolve("models/stories260K"), policy.storage());
      Tokenizer tok = Tokenizer.readFromDirectory(ROOT.resolve("models/stories260K"));
      RomeRequest req = EditRequest.of("Tom", "{} was very", "happy").forRome();
      Rome.Outcome o =
          Rome.compute(
              model,
              tok,
              fewSteps(),
              req,
              TWO,
              Rome.Options.of(policy, OpContext.DEFAULT),
              EditLog.NONE);
      Rome.apply(model, o, EditLog.NONE);
      Rome.LayerUpdate l = o.layers().getFirst();
      SubjectKey.AtToken after =
          SubjectKey.at(
              model,
              tok,
              policy,
              OpContext.DEFAULT,
              l.layer(),
              req.promptTemplate(),
              req.subject());
      float[] vStar = l.value().target();
      // Budget: in FP32 only the rounding of r·uᵀ, W + upd and the 172-term dot product (≲ 1e-5
      // relative to ‖v*‖); in a 16-bit format each of the 11,008 weights is rounded after the
      // update
      // (u = 2^-8 relative for BF16, 2^-11 for FP16) and the output again: a few u of ‖v*‖.
      double budget =
          switch (name) {
            case "fp32" -> 1e-4;
            case "pytorch-bf16" -> 0.05;
            default -> 0.01;
          };
      assertThat(Rome.norm(diff(after.output(), vStar)) / Rome.norm(vStar))
          .as(name)
          .isLessThan(budget);
      // and the edit moved the output: before the update it was far from v*
      assertThat(Rome.norm(diff(l.value().init(), vStar)) / Rome.norm(vStar))
          .as(name)
          .isGreaterThan(0.3);
    }
  }

  /**
   * Single-edit mode restores the weights bit for bit: the logits after restore equal the
   * original's.
   */
  /**
   * The two target tokenizations: EasyEdit's own encoding of " doll" starts with the lone "▁" piece
   * and the first rewriting prompt reads "... is a do"; in_context asks for the pieces that follow
   * the prompt in "... is a doll", the ones the evaluation teacher-forces, and is labelled in the
   * log.
   */
  @Test
  void targetTokensEasyEditVersusInContext() throws Exception {
    LlamaModel model =
        LlamaModel.load(
            ROOT.resolve("models/stories260K"), io.nanscope.engine.format.FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(ROOT.resolve("models/stories260K"));
    RomeRequest req = EditRequest.of("Lily", "{}'s favorite toy is a", "doll").forRome();
    String yaml =
        Files.readString(ROOT.resolve("configs/rome/stories260K.yaml"))
            .replace("v_num_grad_steps: 25", "v_num_grad_steps: 1");
    java.util.Map<String, List<String>> logs = new java.util.LinkedHashMap<>();
    for (String mode : List.of("easyedit", "in_context")) {
      RomeHyperParams hp =
          HyperParamsYaml.parseRome("t", yaml + "\ntarget_tokens: " + mode + "\n").hparams();
      List<String> lines = new java.util.ArrayList<>();
      io.nanscope.editing.keys.TargetValue.optimise(
          model,
          tok,
          PrecisionPolicy.named("fp32"),
          OpContext.DEFAULT,
          1,
          hp.valueOptimization(),
          TWO,
          req.promptTemplate(),
          req.subject(),
          req.targetNew(),
          lines::add,
          (step, delta) -> true);
      logs.put(mode, lines);
    }
    assertThat(java.util.Arrays.stream(tok.encode(" doll", false, false)).mapToObj(tok::piece))
        .containsExactly("▁", "▁do", "ll");
    assertThat(logs.get("easyedit"))
        .noneMatch(l -> l.startsWith("nanscope:"))
        .contains("Lookup index found: 1 | Sentence: Lily's favorite toy is a do | Token: Lily");
    assertThat(logs.get("in_context"))
        .contains(
            "nanscope: target_tokens in_context (not EasyEdit's tok.encode(target)): [▁do, ll]")
        .contains("Lookup index found: 1 | Sentence: Lily's favorite toy is a do | Token: Lily");
    // Different supervision, so a different first loss: EasyEdit's includes the unlikely lone "▁".
    double first =
        Double.parseDouble(
            logs.get("easyedit").stream()
                .filter(l -> l.startsWith("loss "))
                .findFirst()
                .orElseThrow()
                .split(" ")[1]);
    double inContext =
        Double.parseDouble(
            logs.get("in_context").stream()
                .filter(l -> l.startsWith("loss "))
                .findFirst()
                .orElseThrow()
                .split(" ")[1]);
    assertThat(inContext).isLessThan(first);
  }

  @Test
  void restoreIsExact() throws Exception {
    PrecisionPolicy policy = PrecisionPolicy.named("pytorch-fp16");
    LlamaModel model = LlamaModel.load(ROOT.resolve("models/stories260K"), policy.storage());
    Tokenizer tok = Tokenizer.readFromDirectory(ROOT.resolve("models/stories260K"));
    int[][] probe = {tok.encode("Lily's favorite toy is a", true, false)};
    float[] before =
        model
            .forward(new SequenceBatch(probe), policy, OpContext.DEFAULT, null, Hooks.none())
            .logits()
            .value()
            .toFloatArray();
    RomeEditor editor = new RomeEditor(model, tok, fewSteps(), TWO, null);
    WeightSnapshot applied =
        WeightSnapshot.write(
            model,
            editor.compute(
                List.of(EditRequest.of("Lily", "Lily's favorite toy is a", "ball")),
                EditContext.of(policy, OpContext.DEFAULT, EditLog.NONE)));
    float[] edited =
        model
            .forward(new SequenceBatch(probe), policy, OpContext.DEFAULT, null, Hooks.none())
            .logits()
            .value()
            .toFloatArray();
    applied.restore();
    float[] restored =
        model
            .forward(new SequenceBatch(probe), policy, OpContext.DEFAULT, null, Hooks.none())
            .logits()
            .value()
            .toFloatArray();
    assertThat(edited).isNotEqualTo(before);
    assertThat(restored).isEqualTo(before);
  }

  @Test
  void pythonFloatText() {
    assertThat(PyFloat.repr(0.05208826810121536)).isEqualTo("0.05208826810121536");
    assertThat(PyFloat.repr(2.7479256914375583e-07)).isEqualTo("2.7479256914375583e-07");
    assertThat(PyFloat.repr(3.0)).isEqualTo("3.0");
    assertThat(PyFloat.repr(1e16)).isEqualTo("1e+16");
    assertThat(PyFloat.repr(123456789012345.0)).isEqualTo("123456789012345.0");
    assertThat(PyFloat.repr(0.0001)).isEqualTo("0.0001");
    assertThat(PyFloat.repr(-0.0)).isEqualTo("-0.0");
    assertThat(PyFloat.repr(Double.NaN)).isEqualTo("nan");
    assertThat(PyFloat.round(2.9601, 3)).isEqualTo("2.96");
    assertThat(PyFloat.round(0.0005, 3)).isEqualTo("0.0"); // half to even, like np.round
    assertThat(PyFloat.round(0.0015, 3)).isEqualTo("0.002");
    assertThat(PyFloat.round(Double.NaN, 3)).isEqualTo("nan");
  }

  static float[] diff(float[] a, float[] b) {
    float[] d = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      d[i] = a[i] - b[i];
    }
    return d;
  }
}
