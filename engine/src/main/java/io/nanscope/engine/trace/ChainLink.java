package io.nanscope.engine.trace;

/**
 * One op in the chain that follows the first non-finite value: every op from the first event on
 * whose output holds NaN or inf, in execution order.
 *
 * @param opIndex how many records the tracer had seen before this one (0-based)
 * @param context the caller's context when the op ran
 * @param phase forward, backward, optimiser…
 * @param site where
 * @param op which op
 * @param step the op's step, or the context's when the op gave none
 * @param nan NaN count in the output
 * @param inf ±inf count in the output
 * @param origin whether this op created non-finite values its inputs did not hold (an event)
 */
public record ChainLink(
    long opIndex,
    TraceContext.Snapshot context,
    Phase phase,
    Site site,
    String op,
    int step,
    long nan,
    long inf,
    boolean origin) {

  /** {@code backward layers.5.mlp.down_proj (matmul): 3 NaN, 0 inf}. */
  public String describe() {
    return phase.name().toLowerCase(java.util.Locale.ROOT)
        + " "
        + site
        + " ("
        + op
        + "): "
        + nan
        + " NaN, "
        + inf
        + " inf"
        + (origin ? " [new]" : "");
  }

  /** One JSON Lines object, {@code "type": "chain"}. */
  public Json toJson() {
    return Json.object()
        .put("type", "chain")
        .put("op_index", opIndex)
        .put("record", context.record())
        .put("label", context.label())
        .put("phase", phase.name().toLowerCase(java.util.Locale.ROOT))
        .put("site", site.name())
        .put("op", op)
        .put("step", step)
        .put("nan", nan)
        .put("inf", inf)
        .put("origin", origin);
  }
}
