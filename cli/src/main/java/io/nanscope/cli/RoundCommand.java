package io.nanscope.cli;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.Overflow;
import io.nanscope.engine.format.RoundResult;
import io.nanscope.engine.format.Rounding;
import io.nanscope.engine.format.RoundingSpec;
import io.nanscope.engine.format.Subnormals;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code nanscope round}: what a value becomes in a format, bit by bit, with overflow/underflow
 * flags.
 */
@Command(
    name = "round",
    mixinStandardHelpOptions = true,
    description = {
      "Rounds values to a number format: result, bits, class, overflow/underflow.",
      "Bits are split as sign | exponent | mantissa; class is normal, subnormal, zero, inf or nan.",
      "A value is rounded once, exactly from its text (no intermediate double): 1e400 overflows and",
      "1e-400 underflows by the format's rules. Names are case-insensitive; aliases: see",
      "docs/guide/formats.md.",
      "--subnormals flush sets results that are subnormal AFTER rounding to +-0 in every rounding mode",
      "(as hardware flush-to-zero does), so up/down can then land on the other side of the input.",
      "Example: nanscope round --format fp16 65519 65520 1e-8"
    })
final class RoundCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(
      names = {"-f", "--format"},
      defaultValue = "fp16",
      description =
          "fp64, fp32, tf32, bf16, fp16, fp8-e4m3, fp8-e5m2 or custom:p=P,e=E (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(
      names = {"-r", "--rounding"},
      defaultValue = "nearest-even",
      description =
          "nearest-even, toward-zero, up, down or stochastic; aliases rne/rn/nearest, rz/truncate,"
              + " ru/ceiling, rd/floor, sr (default: ${DEFAULT-VALUE}).")
  String rounding;

  @Option(
      names = "--seed",
      defaultValue = "0",
      description =
          "Stochastic rounding seed; value number i (from 0) uses draw i (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--overflow",
      defaultValue = "ieee",
      description =
          "ieee (alias inf: to inf, NaN in fp8-e4m3) or saturate (alias sat: to +-maxFinite)"
              + " (default: ${DEFAULT-VALUE}).")
  String overflow;

  @Option(
      names = "--subnormals",
      defaultValue = "keep",
      description =
          "keep or flush (alias ftz: results below minNormal after rounding become +-0)"
              + " (default: ${DEFAULT-VALUE}).")
  String subnormals;

  @Option(names = "--json", description = "One JSON object per value instead of the table.")
  boolean json;

  @Parameters(
      arity = "1..*",
      paramLabel = "VALUE",
      description =
          "Decimal (65520, 1e-8, -0.1), hex float (0x1p-14), inf, -inf or nan (negative values"
              + " need no '--').")
  List<String> values;

  @Override
  public Integer call() {
    FloatFormat f = FloatFormat.parse(format);
    RoundingSpec rs =
        new RoundingSpec(
            Rounding.parse(rounding), overflowRule(overflow), subnormalRule(subnormals), seed);
    List<Input> inputs = new ArrayList<>();
    for (String v : values) {
      inputs.add(parseValue(v)); // all parsed before anything is printed
    }
    PrintWriter out = spec.commandLine().getOut();
    int stored = f.info().precisionBits() - 1;
    int exp = f.info().exponentBits();
    List<String[]> rows = new ArrayList<>();
    rows.add(
        new String[] {"input", "rounded", "sign | exponent | mantissa", "hex", "class", "flags"});
    JsonMapper mapper = json ? JsonMapper.builder().build() : null;
    for (int i = 0; i < inputs.size(); i++) {
      RoundResult r = inputs.get(i).round(f, rs, i);
      String bits = binary(r.bits(), f.info().bits());
      String sign = bits.substring(0, 1);
      String exponent = bits.substring(1, 1 + exp);
      String mantissa = bits.substring(1 + exp);
      String hex = "0x" + String.format("%0" + ((f.info().bits() + 3) / 4) + "x", r.bits());
      String flags = (r.overflow() ? "overflow " : "") + (r.underflow() ? "underflow" : "");
      if (json) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("input", values.get(i));
        o.put("format", f.name());
        o.put("rounding", rs.rounding().cliName());
        o.put("value", show(r.value()));
        o.put("error", inputs.get(i).error(r.value()));
        o.put("bits", hex);
        o.put("sign", sign);
        o.put("exponent", exponent);
        o.put("mantissa", mantissa);
        o.put("class", r.valueClass().label());
        o.put("overflow", r.overflow());
        o.put("underflow", r.underflow());
        out.println(mapper.writeValueAsString(o));
      } else {
        rows.add(
            new String[] {
              values.get(i),
              show(r.value()),
              sign + " | " + exponent + " | " + mantissa,
              hex,
              r.valueClass().label(),
              flags.strip()
            });
      }
    }
    if (!json) {
      String flushRule =
          rs.subnormals() == Subnormals.FLUSH
              ? " after rounding, in every rounding mode (as hardware FTZ)"
              : "";
      out.println(
          f.name()
              + ", "
              + rs
              + flushRule
              + " ("
              + stored
              + " mantissa bits stored, "
              + exp
              + " exponent bits)");
      FormatsCommand.printTable(out, rows);
    }
    out.flush();
    return 0;
  }

  /**
   * One VALUE argument: a special double (±inf, nan, ±0) or an exact decimal. Decimal and hex text
   * is kept exact, never parsed to double, so it is rounded once, straight to the target format.
   */
  record Input(String text, double special, BigDecimal exact) {

    RoundResult round(FloatFormat f, RoundingSpec rs, long index) {
      return exact == null
          ? f.roundWithFlags(special, rs, index)
          : f.roundWithFlags(exact, rs, index);
    }

    /** rounded − input, computed exactly and then rounded to double; null when not finite. */
    Double error(double rounded) {
      if (!Double.isFinite(rounded)) {
        return null;
      }
      if (exact == null) {
        double e = rounded - special;
        return Double.isFinite(e) ? e : null;
      }
      return new BigDecimal(rounded).subtract(exact).doubleValue();
    }
  }

  private static final Pattern DECIMAL =
      Pattern.compile("[+-]?(\\d+\\.?\\d*|\\.\\d+)(e[+-]?\\d+)?");
  private static final Pattern HEX =
      Pattern.compile("([+-]?)0x([0-9a-f]*)\\.?([0-9a-f]*)p([+-]?\\d+)");

  /**
   * Binary exponents beyond this are outside every format by far; clamped to keep the math small.
   */
  private static final int HEX_EXPONENT_LIMIT = 4000;

  static Input parseValue(String text) {
    String t = text.strip().toLowerCase(Locale.ROOT);
    switch (t) {
      case "inf", "+inf", "infinity", "+infinity" -> {
        return new Input(text, Double.POSITIVE_INFINITY, null);
      }
      case "-inf", "-infinity" -> {
        return new Input(text, Double.NEGATIVE_INFINITY, null);
      }
      case "nan", "+nan", "-nan" -> {
        return new Input(text, Double.NaN, null);
      }
      default -> {}
    }
    BigDecimal exact = null;
    try {
      if (DECIMAL.matcher(t).matches()) {
        exact = new BigDecimal(t);
      } else {
        Matcher m = HEX.matcher(t);
        if (m.matches() && !(m.group(2) + m.group(3)).isEmpty()) {
          exact = hexValue(m);
        }
      }
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException(
          "not a number: '"
              + text
              + "' (its exponent is out of range: use at most 9 digits of exponent)");
    }
    if (exact == null) {
      throw new IllegalArgumentException(
          "not a number: '"
              + text
              + "' (expected a decimal like 65520 or 1e-8, a hex float like 0x1p-14, inf, -inf or nan)");
    }
    if (exact.signum() == 0) {
      return new Input(text, t.startsWith("-") ? -0.0 : 0.0, null);
    }
    return new Input(text, Double.NaN, exact);
  }

  /** sign · 0xHHH.hhh · 2^exp exactly: 2^-k is 5^k · 10^-k. */
  private static BigDecimal hexValue(Matcher m) {
    String digits = m.group(2) + m.group(3);
    BigInteger mantissa = new BigInteger(digits, 16);
    long exp = Long.parseLong(m.group(4)) - 4L * m.group(3).length();
    if (mantissa.signum() == 0) {
      return BigDecimal.ZERO;
    }
    // beyond the limit the value is far above 2^1024 or far below 2^-1074 for any mantissa typed
    int e =
        (int)
            Math.max(-HEX_EXPONENT_LIMIT - digits.length() * 4L, Math.min(HEX_EXPONENT_LIMIT, exp));
    BigDecimal v =
        e >= 0
            ? new BigDecimal(mantissa.shiftLeft(e))
            : new BigDecimal(mantissa.multiply(BigInteger.valueOf(5).pow(-e)), -e);
    return m.group(1).equals("-") ? v.negate() : v;
  }

  private static Overflow overflowRule(String s) {
    return switch (s.strip().toLowerCase(Locale.ROOT)) {
      case "ieee", "inf" -> Overflow.IEEE;
      case "saturate", "sat" -> Overflow.SATURATE;
      default ->
          throw new IllegalArgumentException(
              "unknown overflow rule '" + s + "': expected ieee or saturate");
    };
  }

  private static Subnormals subnormalRule(String s) {
    return switch (s.strip().toLowerCase(Locale.ROOT)) {
      case "keep" -> Subnormals.KEEP;
      case "flush", "ftz" -> Subnormals.FLUSH;
      default ->
          throw new IllegalArgumentException(
              "unknown subnormal rule '" + s + "': expected keep or flush");
    };
  }

  /** The shortest decimal that reads back as this double; integers without ".0"; inf, -inf, nan. */
  static String show(double v) {
    if (Double.isNaN(v)) {
      return "nan";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "inf" : "-inf";
    }
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return (Double.doubleToRawLongBits(v) < 0 && v == 0) ? "-0" : String.valueOf((long) v);
    }
    return Double.toString(v).replace('E', 'e');
  }

  private static String binary(long bits, int width) {
    String s = Long.toBinaryString(bits);
    return "0".repeat(width - s.length()) + s;
  }
}
