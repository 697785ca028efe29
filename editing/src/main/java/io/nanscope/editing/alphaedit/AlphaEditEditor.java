package io.nanscope.editing.alphaedit;

import io.nanscope.editing.hparams.AlphaEditHyperParams;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.Editor;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * AlphaEdit as an {@link Editor}: {@link AlphaEdit#compute} with each layer's null-space projector
 * (computed once from C, as EasyEdit caches P) and the keys of every edit written so far ({@link
 * PreservedKeys}, grown in {@link #written} only, so a refused update leaves them unchanged).
 */
public final class AlphaEditEditor implements Editor {

  private final LlamaModel model;
  private final Tokenizer tok;
  private final AlphaEditHyperParams hp;
  private final TemplateGroups contexts;
  private final IntFunction<double[]> keySecondMoment;
  private final Map<Integer, NullSpaceProjector> projectors = new HashMap<>();
  private final PreservedKeys preserved = new PreservedKeys();

  /**
   * @param keySecondMoment layer → C = E[k kᵀ], (F, F) row-major, for the projectors
   */
  public AlphaEditEditor(
      LlamaModel model,
      Tokenizer tok,
      AlphaEditHyperParams hp,
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
    return "AlphaEdit";
  }

  @Override
  public WeightUpdate compute(List<EditRequest> batch, EditContext ctx) {
    if (ctx.divisionFactorOverride().isPresent()) {
      throw new IllegalArgumentException(
          "AlphaEdit has no division factor kᵀu to override: the disabling-edit override is ROME's");
    }
    AlphaEdit.Options opt =
        new AlphaEdit.Options(ctx.policy(), ctx.ops(), keySecondMoment, ctx.steps());
    AlphaEdit.Outcome o =
        AlphaEdit.compute(
            model, tok, hp, batch, contexts, this::projector, preserved, opt, ctx.log());
    List<WeightUpdate.Change> changes =
        o.layers().stream()
            .map(l -> new WeightUpdate.Change(l.weightName(), l.layer(), l.updated()))
            .toList();
    Optional<WeightUpdate.Problem> problem =
        o.finite()
            ? Optional.empty()
            : Optional.of(
                new WeightUpdate.Problem(-1, "AlphaEdit: a non-finite loss, z or weight"));
    return WeightUpdate.of(algorithm(), batch, ctx.policy(), changes, problem, o);
  }

  /** After the session wrote the update: its keys join the preserved set (EasyEdit's cache_c). */
  @Override
  public void written(WeightUpdate update, EditLog log) {
    log.line(update.insertedLine());
    for (AlphaEdit.LayerUpdate l : update.detail(AlphaEdit.Outcome.class).layers()) {
      preserved.add(l.layer(), l.keys());
    }
  }

  /** The keys preserved so far (for tests and reports). */
  public PreservedKeys preserved() {
    return preserved;
  }

  private NullSpaceProjector projector(int layer) {
    return projectors.computeIfAbsent(
        layer,
        l ->
            NullSpaceProjector.of(
                keySecondMoment.apply(l), model.config().hiddenDim(), hp.nullspaceThreshold()));
  }
}
