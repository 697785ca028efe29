package io.nanscope.engine.trace;

/**
 * One op in the chain that follows the first non-finite value: every op from the first event on
 * whose output holds NaN or inf, in execution order.
 *
 * @param at where and when the op ran
 * @param nan NaN count in the output
 * @param inf ±inf count in the output
 * @param origin whether this op created non-finite values its inputs did not hold (an event)
 */
public record ChainLink(OpLocation at, long nan, long inf, boolean origin) {

  /** {@code backward layers.5.mlp.down_proj (matmul): 3 NaN, 0 inf}, {@code [new]} for an event. */
  public String describe() {
    return at.describe() + ": " + nan + " NaN, " + inf + " inf" + (origin ? " [new]" : "");
  }

  /** One JSON Lines object, {@code "type": "chain"}. */
  public Json toJson() {
    return at.toJson("chain").put("nan", nan).put("inf", inf).put("origin", origin);
  }
}
