package io.nanscope.engine.trace;

/**
 * One output element an op turned non-finite, for the first-overflow report.
 *
 * @param index flat row-major index
 * @param coordinates the index per axis
 * @param value the stored value (±inf or NaN)
 * @param bits its stored bit pattern in the output format
 * @param unrounded the value before rounding (NaN when the op kept no unrounded output)
 */
public record OffendingValue(
    long index, long[] coordinates, double value, BitPattern bits, double unrounded) {

  /** {@code [3, 17] = +inf (0x7c00 = 0 11111 0000000000), unrounded 66,975.3}. */
  public String describe() {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < coordinates.length; i++) {
      b.append(i == 0 ? "" : ", ").append(coordinates[i]);
    }
    b.append("] = ").append(value > 0 ? "+" : "").append(Numbers.human(value));
    b.append(" (").append(bits.hex()).append(" = ").append(bits.fields()).append(')');
    if (!Double.isNaN(unrounded)) {
      b.append(", unrounded ").append(Numbers.human(unrounded));
    }
    return b.toString();
  }

  Json toJson() {
    return Json.object()
        .put("index", index)
        .put("coordinates", coordinates)
        .put("value", value)
        .put("bits", bits.hex())
        .put("fields", bits.fields())
        .put("unrounded", unrounded);
  }
}
