package io.nanscope.editing.memit;

import io.nanscope.editing.hparams.MemitHyperParams;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.Editor;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * MEMIT as an {@link Editor}: {@link Memit#compute} on the whole batch, every edit layer's new
 * W_down as the update, and the first non-finite z or weight as its problem.
 */
public final class MemitEditor implements Editor {

  private final LlamaModel model;
  private final Tokenizer tok;
  private final MemitHyperParams hp;
  private final TemplateGroups contexts;
  private final IntFunction<double[]> keySecondMoment;

  /**
   * @param keySecondMoment layer → C = E[k kᵀ], (F, F) row-major (MEMIT always uses it)
   */
  public MemitEditor(
      LlamaModel model,
      Tokenizer tok,
      MemitHyperParams hp,
      TemplateGroups contexts,
      IntFunction<double[]> keySecondMoment) {
    this.model = model;
    this.tok = tok;
    this.hp = hp;
    this.contexts = contexts;
    this.keySecondMoment = keySecondMoment;
  }

  @Override
  public String algorithm() {
    return "MEMIT";
  }

  @Override
  public void written(WeightUpdate update, EditLog log) {
    log.line(update.insertedLine());
  }

  @Override
  public WeightUpdate compute(List<EditRequest> batch, EditContext ctx) {
    if (ctx.divisionFactorOverride().isPresent()) {
      throw new IllegalArgumentException(
          "MEMIT has no division factor kᵀu to override: the disabling-edit override is ROME's");
    }
    Memit.Options opt =
        Memit.Options.of(ctx.policy(), ctx.ops(), keySecondMoment).withListener(ctx.steps());
    Memit.Outcome o = Memit.compute(model, tok, hp, batch, contexts, opt, ctx.log());
    List<WeightUpdate.Change> changes =
        o.layers().stream()
            .map(l -> new WeightUpdate.Change(l.weightName(), l.layer(), l.updated()))
            .toList();
    Optional<WeightUpdate.Problem> problem =
        o.finite()
            ? Optional.empty()
            : Optional.of(
                new WeightUpdate.Problem(-1, "MEMIT: a non-finite loss, z or new weight"));
    return WeightUpdate.of(algorithm(), batch, ctx.policy(), changes, problem, o);
  }
}
