package io.nanscope.engine.trace;

import java.util.List;

/**
 * One offending output element of a {@link FirstNonFinite}, traced back to where it sits in the
 * model and to the operand values the op combined into it: for a matmul the terms x[t,c]·W[n,c]
 * with the largest |products| and the sum (the op's FP32 accumulator, and an FP64 re-sum of the
 * same products as a check); for RMSNorm the squares of the row, their sum and 1/√mean; for
 * element-wise ops the operands at that index.
 *
 * <p>Read from the record's inputs as stored, after the op ran: nothing is captured while the
 * tracer is off, and nothing the op computes changes.
 *
 * @param index flat row-major index in the output
 * @param coordinates the index per axis
 * @param value the stored value (NaN or ±inf)
 * @param layer the layer of a {@code layers.N.…} site, or -1
 * @param row the flat activation row (leading axes) when the output's rows are the pass's token
 *     rows, or -1
 * @param batchRow the batch row of {@code row}, or -1
 * @param position the token position of {@code row} in its sequence, or -1
 * @param token the token id at {@code row}, or -1
 * @param tokenText the token's text when the tracer was given a decoder, or ""
 * @param channel the last coordinate (the feature, channel or output row of a weight)
 * @param formula how the op computes this element, in the papers' letters
 * @param operands named scalar values that went into it ({@code x[6,17]}, {@code Σ_c x[6,c]²})
 * @param terms the largest |terms| of its sum (matmul products, RMSNorm squares), largest first
 * @param termName what a term is, e.g. {@code x[t,c]·W[n,c]} or {@code x[t,c]²} ("" without terms)
 * @param termCount how many terms the sum had (0 when it is not a sum)
 */
public record ElementTrace(
    long index,
    long[] coordinates,
    double value,
    int layer,
    long row,
    int batchRow,
    int position,
    int token,
    String tokenText,
    long channel,
    String formula,
    List<Operand> operands,
    List<Term> terms,
    String termName,
    long termCount) {

  /** A named value that went into the element. */
  public record Operand(String name, double value) {
    String describe() {
      return name + " = " + signed(value);
    }

    Json toJson() {
      return Json.object().put("name", name).put("value", value);
    }
  }

  /**
   * One term of the element's sum: {@code a · b = product} at summation index {@code at} (e.g.
   * {@code c=17}).
   */
  public record Term(String at, double a, double b, double product) {
    String describe() {
      return at + ": " + signed(a) + " × " + signed(b) + " = " + signed(product);
    }

    Json toJson() {
      return Json.object().put("at", at).put("a", a).put("b", b).put("product", product);
    }
  }

  public ElementTrace {
    coordinates = coordinates.clone();
    tokenText = tokenText == null ? "" : tokenText;
    operands = List.copyOf(operands);
    terms = List.copyOf(terms);
    termName = termName == null ? "" : termName;
  }

  @Override
  public long[] coordinates() {
    return coordinates.clone();
  }

  /**
   * {@code [1, 6] = +inf: layer 1, batch row 0, position 6, token 1234 "▁doll", channel 6} — where
   * the element sits.
   */
  public String where() {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < coordinates.length; i++) {
      b.append(i == 0 ? "" : ", ").append(coordinates[i]);
    }
    b.append("] = ").append(signed(value)).append(':');
    String sep = " ";
    if (layer >= 0) {
      b.append(sep).append("layer ").append(layer);
      sep = ", ";
    }
    if (row >= 0) {
      b.append(sep)
          .append("batch row ")
          .append(batchRow)
          .append(", token position ")
          .append(position)
          .append(", token ")
          .append(token);
      if (!tokenText.isEmpty()) {
        b.append(' ').append(quote(tokenText));
      }
      sep = ", ";
    }
    b.append(sep).append("channel ").append(channel);
    return b.toString();
  }

  /** The element's lines: where it sits, the formula with its operands, the largest terms. */
  public String describe(String indent) {
    StringBuilder b = new StringBuilder(indent).append(where()).append('\n');
    b.append(indent).append("  ").append(formula);
    for (int i = 0; i < operands.size(); i++) {
      b.append(i == 0 ? ": " : ", ").append(operands.get(i).describe());
    }
    b.append('\n');
    if (!terms.isEmpty()) {
      b.append(indent)
          .append("  largest |")
          .append(termName.isEmpty() ? "terms" : termName)
          .append("| of ")
          .append(String.format(java.util.Locale.ROOT, "%,d", termCount))
          .append(": ");
      for (int i = 0; i < terms.size(); i++) {
        b.append(i == 0 ? "" : "; ").append(terms.get(i).describe());
      }
      b.append('\n');
    }
    return b.toString();
  }

  Json toJson() {
    return Json.object()
        .put("index", index)
        .put("coordinates", coordinates)
        .put("value", value)
        .put("layer", layer)
        .put("row", row)
        .put("batch_row", batchRow)
        .put("position", position)
        .put("token", token)
        .put("token_text", tokenText)
        .put("channel", channel)
        .put("formula", formula)
        .putObjects("operands", operands.stream().map(Operand::toJson).toList())
        .putObjects("terms", terms.stream().map(Term::toJson).toList())
        .put("term_name", termName)
        .put("term_count", termCount);
  }

  static String signed(double v) {
    return (v > 0 && Double.isInfinite(v) ? "+" : "") + Numbers.human(v);
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }
}
