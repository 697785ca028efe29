package io.nanscope.editing.keys;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import java.util.ArrayList;
import java.util.List;

/**
 * The part of a prompt batch's forward that an optimisation step does not change — everything below
 * {@code layers.L.mlp}'s output, where ROME's δ enters — computed once per record instead of once
 * per step (the bits are those of the full forward: {@link LlamaModel#forwardFromMlpOutput}).
 *
 * <p>So that a tracer cannot tell the difference, the prefix's op records are kept when it is
 * computed (they reach the tracer then, as they would) and sent again, stamped with the later step,
 * before each later step's forward: the same records, in the same order, as a full forward per step
 * reports.
 */
final class FrozenPrefix {

  private final LlamaModel.MlpOutputPrefix value;
  private final List<OpRecord> records;

  private FrozenPrefix(LlamaModel.MlpOutputPrefix value, List<OpRecord> records) {
    this.value = value;
    this.records = records;
  }

  static FrozenPrefix compute(
      LlamaModel model,
      SequenceBatch batch,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      Hooks captures) {
    Tracer target = ctx.tracer();
    List<OpRecord> records = new ArrayList<>();
    OpContext c = ctx;
    if (target.enabled()) {
      c =
          ctx.withTracer(
              new Tracer() {
                @Override
                public boolean enabled() {
                  return true;
                }

                @Override
                public void record(OpRecord r) {
                  records.add(r);
                  target.record(r);
                }
              });
    }
    return new FrozenPrefix(model.forwardToMlpOutput(batch, policy, c, layer, captures), records);
  }

  LlamaModel.MlpOutputPrefix value() {
    return value;
  }

  /** Sends the prefix's records to {@code ctx}'s tracer again, stamped with its step. */
  void replayTrace(OpContext ctx) {
    Tracer t = ctx.tracer();
    if (!t.enabled()) {
      return;
    }
    for (OpRecord r : records) {
      t.record(
          new OpRecord(
              r.site(), r.op(), r.phase(), ctx.step(), r.inputs(), r.output(), r.unrounded()));
    }
  }
}
