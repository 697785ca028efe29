package io.nanscope.editing.rome;

import io.nanscope.editing.eval.EditSession;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32;

/**
 * ROME as an {@link EditSession.Editor}: computes and writes the rank-one update for a request,
 * keeping a copy of every changed weight so the edit can be undone bit for bit.
 */
public final class RomeEditor implements EditSession.Editor {

  private final LlamaModel model;
  private final Tokenizer tok;
  private final RomeHyperParams hp;
  private final ContextTemplates contexts;
  private final Rome.Options options;
  private final EditLog log;
  private final Consumer<Rome.Outcome> onOutcome;

  /** @param onOutcome sees every computed outcome before it is written (reports, the fallback) */
  public RomeEditor(
      LlamaModel model, Tokenizer tok, RomeHyperParams hp, ContextTemplates contexts,
      Rome.Options options, EditLog log, Consumer<Rome.Outcome> onOutcome) {
    this.model = model;
    this.tok = tok;
    this.hp = hp;
    this.contexts = contexts;
    this.options = options;
    this.log = log;
    this.onOutcome = onOutcome;
  }

  @Override
  public EditSession.Applied apply(EditRequest request, int index) {
    Rome.Outcome outcome = Rome.compute(model, tok, hp, request.forRome(), contexts, options, log);
    onOutcome.accept(outcome);
    List<Tensor> saved = new ArrayList<>();
    List<Long> crcs = new ArrayList<>();
    for (Rome.LayerUpdate l : outcome.layers()) {
      Tensor w = model.writableDownProj(l.layer());
      saved.add(w.copy());
      crcs.add(crc(w));
    }
    Rome.apply(model, outcome, log);
    return () -> {
      for (int i = 0; i < saved.size(); i++) {
        Tensor w = model.writableDownProj(outcome.layers().get(i).layer());
        RankOneUpdate.copyInto(saved.get(i), w);
        if (crc(w) != crcs.get(i)) {
          throw new IllegalStateException(
              "restoring " + outcome.layers().get(i).weightName() + " did not give back the original bits");
        }
      }
    };
  }

  /** CRC-32 of a tensor's stored bytes (a cheap bit-for-bit identity check). */
  static long crc(Tensor t) {
    CRC32 c = new CRC32();
    c.update(t.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    return c.getValue();
  }
}
