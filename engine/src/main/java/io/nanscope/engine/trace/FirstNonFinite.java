package io.nanscope.engine.trace;

import java.util.List;
import java.util.Locale;

/**
 * An op whose output holds a NaN or an infinity that its inputs did not: where non-finite values
 * are born. The first one of a run is the answer to "which op overflowed first".
 *
 * <p>"Did not hold" is judged per kind: a NaN is new when no input holds a NaN; an infinity is new
 * when no input holds a NaN or an infinity. So {@code inf − inf = NaN} downstream of an overflow is
 * a (second) event whose {@link #inputsFinite()} is false, and an op that merely carries a NaN
 * forward is not an event but a {@link ChainLink}.
 *
 * @param opIndex how many records the tracer had seen before this one (0-based)
 * @param context the caller's context (edit record, step, label) when the op ran
 * @param phase forward, backward, optimiser…
 * @param site where
 * @param op which op
 * @param step the op's step, or the context's when the op gave none (-1 if neither)
 * @param inputs stats of each input, as stored
 * @param output stats of the output (with overflow/underflow when the op kept its unrounded output)
 * @param newNan whether NaN values are new here
 * @param newInf whether infinities are new here
 * @param inputsFinite whether every input was free of NaN and inf
 * @param offending the first few non-finite output elements, with their bits
 * @param limitCrossed the limit the values crossed, e.g. {@code |x| = 66,975 > maxFinite 65,504 of
 *     fp16 (values ≥ 65,520 round to inf)}
 */
public record FirstNonFinite(
    long opIndex,
    TraceContext.Snapshot context,
    Phase phase,
    Site site,
    String op,
    int step,
    List<TensorStats> inputs,
    TensorStats output,
    boolean newNan,
    boolean newInf,
    boolean inputsFinite,
    List<OffendingValue> offending,
    String limitCrossed) {

  public FirstNonFinite {
    inputs = List.copyOf(inputs);
    offending = List.copyOf(offending);
  }

  /**
   * One line: {@code forward layers.5.mlp.down_proj (matmul) step 3: 2 inf, 0 NaN in fp16 from
   * finite inputs; |x| = 66,975 > maxFinite 65,504 …}.
   */
  public String summary() {
    StringBuilder b = new StringBuilder();
    if (context.record() >= 0) {
      b.append("record ").append(context.record()).append(' ');
    }
    b.append(phase.name().toLowerCase(Locale.ROOT)).append(' ').append(site);
    b.append(" (").append(op).append(')');
    if (step >= 0) {
      b.append(" step ").append(step);
    }
    b.append(": ").append(output.infinities()).append(" inf, ").append(output.nan()).append(" NaN in ");
    b.append(output.format().name());
    b.append(inputsFinite ? " from finite inputs" : " from inputs already holding inf");
    b.append("; ").append(limitCrossed);
    return b.toString();
  }

  /** A multi-line report: the summary, input and output stats, the offending values. */
  public String report() {
    StringBuilder b = new StringBuilder("first non-finite value: ").append(summary()).append('\n');
    for (int i = 0; i < inputs.size(); i++) {
      b.append("  input ").append(i).append(": ").append(describe(inputs.get(i))).append('\n');
    }
    b.append("  output : ").append(describe(output)).append('\n');
    for (OffendingValue v : offending) {
      b.append("    ").append(v.describe()).append('\n');
    }
    return b.toString();
  }

  private static String describe(TensorStats s) {
    StringBuilder b = new StringBuilder(s.format().name());
    b.append(" max|x| ").append(Numbers.human(s.maxAbs()));
    b.append(", headroom ").append(Numbers.binades(s.headroom())).append(" binades");
    b.append(", NaN ").append(s.nan()).append(", inf ").append(s.infinities());
    b.append(", subnormal ").append(s.subnormal()).append(", zero ").append(s.zero());
    if (s.hasUnrounded()) {
      b.append(", overflow ").append(s.overflow()).append(", underflow ").append(s.underflow());
      b.append(", unrounded max|x| ").append(Numbers.human(s.unroundedMaxAbs()));
    }
    return b.toString();
  }

  /** One JSON Lines object, {@code "type": "first_non_finite"}. */
  public Json toJson() {
    return Json.object()
        .put("type", "first_non_finite")
        .put("op_index", opIndex)
        .put("record", context.record())
        .put("context_step", context.step())
        .put("label", context.label())
        .put("phase", phase.name().toLowerCase(Locale.ROOT))
        .put("site", site.name())
        .put("op", op)
        .put("step", step)
        .put("new_nan", newNan)
        .put("new_inf", newInf)
        .put("inputs_finite", inputsFinite)
        .put("limit_crossed", limitCrossed)
        .putObjects("inputs", inputs.stream().map(TensorStats::toJson).toList())
        .put("output", output.toJson())
        .putObjects("offending", offending.stream().map(OffendingValue::toJson).toList());
  }
}
