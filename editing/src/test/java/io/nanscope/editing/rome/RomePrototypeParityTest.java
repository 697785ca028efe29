package io.nanscope.editing.rome;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.PyFloat;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ROME on the embedded model against an independent implementation: the numpy prototype of
 * shared/reference/fp16-repro-findings.md (Part A §1, §6), which ran EasyEdit's ROME with
 * PyTorch-CUDA FP16 semantics on stories260K with the 21 context templates listed there. For
 * request 0 (Lily's favorite toy is a → ball) at layer 1 in FP16 it reports: 25 loss lines, first
 * {@code loss 2.96 = 2.96 + 0.0 + 0.0}, final loss 0.965, kᵀu = 2.029, ‖r‖ = 4.158.
 *
 * <p>Budgets: the prototype rounds RoPE and attention slightly differently (findings §1) and prints
 * 3–4 digits, so losses are compared to ±0.005 and the vectors' norms to ±0.01 — a wrong loss term,
 * target alignment or clamp moves these by far more (the clamp alone changes ‖δ‖ by ×4).
 */
class RomePrototypeParityTest {

  static final List<String> PROTOTYPE_TEMPLATES =
      List.of(
          "{}",
          "The sun w. {}",
          "The sunn. {}",
          "Therefore. {}",
          "Therefore. {}",
          "Because. {}",
          "Because. {}",
          "I'm a. {}",
          "It was very. {}",
          "You d. {}",
          "You ne. {}",
          "There was a big frog. {}",
          "The pigs were twin. {}",
          "Thereforereres we. {}",
          "Therefore was very pre. {}",
          "Because he loved. {}",
          "Because his friends. {}",
          "I are a big park with. {}",
          "I'm Anna and. {}",
          "You did no pi. {}",
          "You can go to the. {}");

  static Path root() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("mvnw"))) {
      p = p.getParent();
    }
    return p;
  }

  @Test
  void fp16EditOfRequestZeroMatchesThePrototype() throws Exception {
    Path root = root();
    PrecisionPolicy policy = PrecisionPolicy.named("pytorch-fp16");
    LlamaModel model = LlamaModel.load(root.resolve("models/stories260K"), policy.storage());
    Tokenizer tok = Tokenizer.readFromDirectory(root.resolve("models/stories260K"));
    RomeHyperParams hp =
        HyperParamsYaml.readRome(root.resolve("configs/rome/stories260K.yaml")).hparams();
    List<String> log = new ArrayList<>();
    Rome.Outcome o =
        Rome.compute(
            model,
            tok,
            hp,
            EditRequest.of("Lily", "{}'s favorite toy is a", "ball").forRome(),
            new ContextTemplates(PROTOTYPE_TEMPLATES, "prototype"),
            Rome.Options.of(policy, OpContext.DEFAULT),
            log::add);

    Rome.LayerUpdate l = o.layers().getFirst();
    assertThat(l.value().steps()).hasSize(25);
    assertThat(log)
        .contains(
            "loss 2.96 = 2.96 + 0.0 + 0.0 avg prob of [ ball] "
                + PyFloat.repr(l.value().steps().getFirst().avgProb()));
    assertThat(l.value().steps().getLast().loss()).isCloseTo(0.965, within(0.005));
    assertThat(l.divisionFactor()).isCloseTo(2.029, within(0.01));
    assertThat(Rome.norm(l.r())).isCloseTo(4.158, within(0.01));
    assertThat(o.finite()).isTrue();
    // compute() leaves the model as it was
    assertThat(RomeEditor.crc(model.writableDownProj(1)))
        .isEqualTo(
            RomeEditor.crc(
                LlamaModel.load(root.resolve("models/stories260K"), policy.storage())
                    .writableDownProj(1)));
  }
}
