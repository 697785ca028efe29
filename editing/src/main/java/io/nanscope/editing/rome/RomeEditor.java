package io.nanscope.editing.rome;

import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.Editor;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;
import java.util.zip.CRC32;

/**
 * ROME as an {@link Editor}: {@link Rome#compute} for the one request of a batch, its layers' new
 * W_down as the update, and ROME's own checks of the update (kᵀu, r, the new weights) as its
 * problem. ROME edits one fact per update (EasyEdit's batch_edit refuses it too): a batch of
 * another size is refused.
 */
public final class RomeEditor implements Editor {

  private final LlamaModel model;
  private final Tokenizer tok;
  private final RomeHyperParams hp;
  private final ContextTemplates contexts;
  private final IntFunction<double[]> keySecondMoment;

  /**
   * @param keySecondMoment layer → C = E[k kᵀ] for {@code mom2_adjustment: true} (see {@code
   *     stats.KeySecondMoments}); null when the hparams do not adjust
   */
  public RomeEditor(
      LlamaModel model,
      Tokenizer tok,
      RomeHyperParams hp,
      ContextTemplates contexts,
      IntFunction<double[]> keySecondMoment) {
    this.model = model;
    this.tok = tok;
    this.hp = hp;
    this.contexts = contexts;
    this.keySecondMoment = keySecondMoment;
  }

  @Override
  public String algorithm() {
    return "ROME";
  }

  @Override
  public WeightUpdate compute(List<EditRequest> batch, EditContext ctx) {
    if (batch.size() != 1) {
      throw new IllegalArgumentException(
          "ROME edits one request per update, got a batch of "
              + batch.size()
              + ": use batch size 1 (sequential editing) or a batch-editing algorithm such as MEMIT");
    }
    Rome.Outcome outcome =
        Rome.compute(model, tok, hp, batch.getFirst().forRome(), contexts, options(ctx), ctx.log());
    List<WeightUpdate.Change> changes =
        outcome.layers().stream()
            .map(l -> new WeightUpdate.Change(l.weightName(), l.layer(), l.updated()))
            .toList();
    return WeightUpdate.of(algorithm(), batch, ctx.policy(), changes, problem(outcome), outcome);
  }

  @Override
  public void written(WeightUpdate update, EditLog log) {
    Rome.logInserted(outcome(update), log);
  }

  /** The {@link Rome.Outcome} a ROME update carries. */
  public static Rome.Outcome outcome(WeightUpdate update) {
    return update.detail(Rome.Outcome.class);
  }

  /**
   * The Rome options of a call: the context's policy, tracer, listener, override and loss scaling.
   */
  Rome.Options options(EditContext ctx) {
    Rome.Options o =
        Rome.Options.of(ctx.policy(), ctx.ops())
            .withListener(ctx.steps())
            .withDynamicLossScale(ctx.dynamicLossScale())
            .withStages(ctx.stages());
    if (ctx.divisionFactorOverride().isPresent()) {
      o = o.withDivisionFactor(ctx.divisionFactorOverride().getAsDouble());
    }
    if (keySecondMoment != null) {
      o = o.withKeySecondMoment(keySecondMoment);
    }
    return o;
  }

  /** The first non-finite kᵀu, r or new weight, layer by layer: the update the fallback refuses. */
  static Optional<WeightUpdate.Problem> problem(Rome.Outcome outcome) {
    for (Rome.LayerUpdate l : outcome.layers()) {
      String what = null;
      if (!Double.isFinite(l.divisionFactor())) {
        what = "Division Factor " + l.divisionFactor();
      } else if (countNonFinite(l.r()) > 0) {
        what = countNonFinite(l.r()) + " non-finite entries in the right vector r";
      } else if (l.nonFiniteWeights() > 0) {
        what = l.nonFiniteWeights() + " non-finite entries in the new " + l.weightName();
      }
      if (what != null) {
        return Optional.of(new WeightUpdate.Problem(-1, "rank-one update: " + what));
      }
    }
    return Optional.empty();
  }

  private static int countNonFinite(float[] x) {
    int n = 0;
    for (float f : x) {
      if (!Float.isFinite(f)) {
        n++;
      }
    }
    return n;
  }

  /** CRC-32 of a tensor's stored bytes (a cheap bit-for-bit identity check). */
  static long crc(Tensor t) {
    CRC32 c = new CRC32();
    c.update(t.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    return c.getValue();
  }
}
