package io.nanscope.engine.trace;

import java.util.List;

/**
 * An op whose output holds a NaN or an infinity that its inputs did not: where non-finite values
 * are born. The first one of a run is the answer to "which op overflowed first".
 *
 * <p>"Did not hold" is judged per kind: a NaN is new when no input holds a NaN; an infinity is new
 * when no input holds a NaN or an infinity. So {@code inf − inf = NaN} downstream of an overflow is
 * a (second) event whose {@link #inputsFinite()} is false, and an op that merely carries a NaN
 * forward is not an event but a {@link ChainLink}.
 *
 * @param at where and when the op ran
 * @param inputs stats of each input, as stored
 * @param output stats of the output (with overflow/underflow when the op kept its unrounded output)
 * @param newNan whether NaN values are new here
 * @param newInf whether infinities are new here
 * @param inputsFinite whether every input was free of NaN and inf
 * @param offending the first few non-finite output elements, with their bits
 * @param limitCrossed the limit the values crossed, e.g. {@code |x| = 66,975 > maxFinite 65,504 of
 *     fp16 (values ≥ 65,520 round to inf)}
 * @param elements the first few offending elements traced back to their place in the model (layer,
 *     token, channel) and to the operand values that produced them
 */
public record FirstNonFinite(
    OpLocation at,
    List<TensorStats> inputs,
    TensorStats output,
    boolean newNan,
    boolean newInf,
    boolean inputsFinite,
    List<OffendingValue> offending,
    String limitCrossed,
    List<ElementTrace> elements) {

  /** Elements printed per event by {@link #elementsReport(String)} (the JSON keeps all). */
  public static final int ELEMENTS_PRINTED = 2;

  public FirstNonFinite {
    inputs = List.copyOf(inputs);
    offending = List.copyOf(offending);
    elements = List.copyOf(elements);
  }

  /**
   * Whether this op created the non-finite values from finite inputs (a producer: where the
   * overflow happened) rather than only passing on an inf it received, as NaN or inf (a propagator:
   * RMSNorm's {@code inf·0 = NaN} after an overflow upstream).
   */
  public boolean producer() {
    return inputsFinite;
  }

  /** {@code producer} or {@code propagator}. */
  public String role() {
    return producer() ? "producer" : "propagator";
  }

  /**
   * {@code producer: created inf from finite inputs} or {@code propagator: its inputs already held
   * inf; it passed it on as NaN}.
   */
  public String roleLine() {
    String made = (newInf ? "inf" : "") + (newInf && newNan ? " and " : "") + (newNan ? "NaN" : "");
    return producer()
        ? "producer: created " + made + " from finite inputs"
        : "propagator: its inputs already held inf; it passed it on as " + made;
  }

  /**
   * The event's role and its first {@value #ELEMENTS_PRINTED} offending elements with their place
   * in the model and their operands, each line indented by {@code indent}.
   */
  public String elementsReport(String indent) {
    StringBuilder b = new StringBuilder(indent);
    b.append(at.describe()).append(": ").append(roleLine()).append('\n');
    for (int i = 0; i < Math.min(ELEMENTS_PRINTED, elements.size()); i++) {
      b.append(elements.get(i).describe(indent + "  "));
    }
    long more = output.nonFinite() - Math.min(ELEMENTS_PRINTED, elements.size());
    if (more > 0) {
      b.append(indent).append("  … ").append(more).append(" more non-finite output values\n");
    }
    return b.toString();
  }

  /**
   * One line: {@code forward layers.5.mlp.down_proj (matmul) step 3: 2 inf, 0 NaN in fp16 from
   * finite inputs; |x| = 66,975 > maxFinite 65,504 …}.
   */
  public String summary() {
    StringBuilder b = new StringBuilder(at.describe());
    b.append(": ")
        .append(output.infinities())
        .append(" inf, ")
        .append(output.nan())
        .append(" NaN in ");
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
    return at.toJson("first_non_finite")
        .put("new_nan", newNan)
        .put("new_inf", newInf)
        .put("inputs_finite", inputsFinite)
        .put("limit_crossed", limitCrossed)
        .putObjects("inputs", inputs.stream().map(TensorStats::toJson).toList())
        .put("output", output.toJson())
        .putObjects("offending", offending.stream().map(OffendingValue::toJson).toList())
        .put("role", role())
        .putObjects("elements", elements.stream().map(ElementTrace::toJson).toList());
  }
}
