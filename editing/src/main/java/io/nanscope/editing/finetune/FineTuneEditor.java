package io.nanscope.editing.finetune;

import io.nanscope.editing.hparams.FtHyperParams;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.Editor;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.List;
import java.util.Optional;

/**
 * FT-L / FT-M as an {@link Editor}: {@link FineTune#compute} on the batch, its trained down_proj
 * weights as the update, and the first non-finite loss or weight as its problem (the precision
 * fallback then redoes the batch in the wider format).
 */
public final class FineTuneEditor implements Editor {

  private final LlamaModel model;
  private final Tokenizer tok;
  private final FtHyperParams hp;
  private final FineTune.Options base;

  /**
   * @param base the options besides policy and tracer (e.g. {@code withAdamStateFormat})
   */
  public FineTuneEditor(LlamaModel model, Tokenizer tok, FtHyperParams hp, FineTune.Options base) {
    this.model = model;
    this.tok = tok;
    this.hp = hp;
    this.base = base;
  }

  @Override
  public String algorithm() {
    return hp.objectiveOptimization().equals("prompt_last") ? "FT-L" : "FT-M";
  }

  @Override
  public void written(WeightUpdate update, EditLog log) {
    log.line(update.insertedLine());
  }

  @Override
  public WeightUpdate compute(List<EditRequest> batch, EditContext ctx) {
    FineTune.Options opt =
        new FineTune.Options(ctx.policy(), ctx.ops(), base.listener(), base.adamStateFormat());
    FineTune.Outcome o = FineTune.compute(model, tok, hp, batch, opt, ctx.log());
    List<WeightUpdate.Change> changes =
        o.layers().stream()
            .map(l -> new WeightUpdate.Change(l.weightName(), l.layer(), l.updated()))
            .toList();
    return WeightUpdate.of(algorithm(), batch, ctx.policy(), changes, problem(o), o);
  }

  /** The first non-finite batch loss, else the first trained weight with non-finite entries. */
  static Optional<WeightUpdate.Problem> problem(FineTune.Outcome o) {
    for (int i = 0; i < o.steps().size(); i++) {
      FineTune.Step s = o.steps().get(i);
      if (!s.finite()) {
        return Optional.of(
            new WeightUpdate.Problem(
                i, "FT loss " + s.loss() + " at epoch " + s.epoch() + ", batch " + s.batch()));
      }
    }
    for (FineTune.LayerUpdate l : o.layers()) {
      if (l.nonFiniteWeights() > 0) {
        return Optional.of(
            new WeightUpdate.Problem(
                -1, l.nonFiniteWeights() + " non-finite entries in the trained " + l.weightName()));
      }
    }
    return Optional.empty();
  }
}
