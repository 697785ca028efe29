package io.nanscope.engine.trace;

import java.util.Locale;

/**
 * Where and when an op ran, as every event, chain link and stats row records it.
 *
 * @param opIndex how many records the tracer had seen before this one (0-based)
 * @param context the caller's context (edit record, step, label) when the op ran
 * @param phase forward, backward, optimiser, rank-one update or generation
 * @param site where in the model
 * @param op which op
 * @param step the op's own step, or the context's when the op gave none (-1 if neither)
 */
public record OpLocation(
    long opIndex, TraceContext.Snapshot context, Phase phase, Site site, String op, int step) {

  /** The location of {@code r}, the {@code opIndex}-th record, under {@code context}. */
  public static OpLocation of(long opIndex, TraceContext.Snapshot context, OpRecord r) {
    int step = r.step() >= 0 ? r.step() : context.step();
    return new OpLocation(opIndex, context, r.phase(), r.site(), r.op(), step);
  }

  /** {@code record 3 forward layers.5.mlp.down_proj (matmul) step 7}; record and step if set. */
  public String describe() {
    StringBuilder b = new StringBuilder();
    if (context.record() >= 0) {
      b.append("record ").append(context.record()).append(' ');
    }
    b.append(phaseName()).append(' ').append(site).append(" (").append(op).append(')');
    if (step >= 0) {
      b.append(" step ").append(step);
    }
    return b.toString();
  }

  /** The phase in lower case, as written in reports and JSON. */
  public String phaseName() {
    return phase.name().toLowerCase(Locale.ROOT);
  }

  /** A JSON object of the given type with this location's fields, for the caller to extend. */
  public Json toJson(String type) {
    return Json.object()
        .put("type", type)
        .put("op_index", opIndex)
        .put("record", context.record())
        .put("context_step", context.step())
        .put("label", context.label())
        .put("phase", phaseName())
        .put("site", site.name())
        .put("op", op)
        .put("step", step);
  }
}
