package io.nanscope.editing.keys;

import java.math.BigDecimal;

/**
 * Python's text for floats, so that log lines match EasyEdit's character for character: {@code
 * repr(float)} (shortest round-trip digits, scientific below 1e-4 and from 1e16, {@code nan},
 * {@code inf}) and numpy's {@code np.round(x, 3)} (round half to even on {@code x·10³}).
 */
public final class PyFloat {

  private PyFloat() {}

  /**
   * Python {@code repr(x)} of a double, e.g. {@code 0.05208826810121536}, {@code 2.7e-07}, {@code
   * 3.0}.
   */
  public static String repr(double x) {
    if (Double.isNaN(x)) {
      return "nan";
    }
    if (Double.isInfinite(x)) {
      return x > 0 ? "inf" : "-inf";
    }
    if (x == 0) {
      return (1 / x < 0) ? "-0.0" : "0.0";
    }
    // Java's Double.toString gives the shortest digits that round-trip (JDK 19+), as Python does.
    BigDecimal d = new BigDecimal(Double.toString(Math.abs(x))).stripTrailingZeros();
    String digits = d.unscaledValue().toString();
    int exp10 = digits.length() - 1 - d.scale(); // x = d.ddd × 10^exp10
    String sign = x < 0 ? "-" : "";
    if (exp10 < -4 || exp10 >= 16) {
      String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      String e = String.format("%s%02d", exp10 < 0 ? "-" : "+", Math.abs(exp10));
      return sign + mant + "e" + e;
    }
    if (exp10 >= digits.length() - 1) { // an integer value: pad with zeros, then ".0"
      return sign + digits + "0".repeat(exp10 - digits.length() + 1) + ".0";
    }
    if (exp10 >= 0) {
      return sign + digits.substring(0, exp10 + 1) + "." + digits.substring(exp10 + 1);
    }
    return sign + "0." + "0".repeat(-exp10 - 1) + digits;
  }

  /** numpy {@code np.round(x, decimals)} then Python repr: {@code rint(x·10^d)/10^d}. */
  public static String round(double x, int decimals) {
    double scale = Math.pow(10, decimals);
    return repr(Math.rint(x * scale) / scale);
  }
}
