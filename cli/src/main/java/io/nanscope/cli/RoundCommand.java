package io.nanscope.cli;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.Overflow;
import io.nanscope.engine.format.RoundResult;
import io.nanscope.engine.format.Rounding;
import io.nanscope.engine.format.RoundingSpec;
import io.nanscope.engine.format.Subnormals;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.json.JsonMapper;

/** {@code nanscope round}: what a value becomes in a format, bit by bit, with overflow/underflow flags. */
@Command(
    name = "round",
    mixinStandardHelpOptions = true,
    description = {
      "Rounds values to a number format: result, bits, class, overflow/underflow.",
      "Bits are split as sign | exponent | mantissa; class is normal, subnormal, zero, inf or nan.",
      "Decimals are parsed to double first (harmless double rounding for p <= 25).",
      "Example: nanscope round --format fp16 65519 65520 1e-8"
    })
final class RoundCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = {"-f", "--format"}, defaultValue = "fp16",
      description = "fp64, fp32, tf32, bf16, fp16, fp8-e4m3, fp8-e5m2 or custom:p=P,e=E (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = {"-r", "--rounding"}, defaultValue = "nearest-even",
      description = "nearest-even, toward-zero, up, down or stochastic (default: ${DEFAULT-VALUE}).")
  String rounding;

  @Option(names = "--seed", defaultValue = "0",
      description = "Stochastic rounding seed; value number i (from 0) uses draw i (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--overflow", defaultValue = "ieee",
      description = "ieee (to inf, NaN in fp8-e4m3) or saturate (to +-maxFinite) (default: ${DEFAULT-VALUE}).")
  String overflow;

  @Option(names = "--subnormals", defaultValue = "keep",
      description = "keep or flush (results below minNormal become 0) (default: ${DEFAULT-VALUE}).")
  String subnormals;

  @Option(names = "--json", description = "One JSON object per value instead of the table.")
  boolean json;

  @Parameters(arity = "1..*", paramLabel = "VALUE",
      description = "Decimal (65520, 1e-8, -0.1), hex float (0x1p-14), inf, -inf or nan.")
  List<String> values;

  @Override
  public Integer call() {
    FloatFormat f = FloatFormat.parse(format);
    RoundingSpec rs = new RoundingSpec(Rounding.parse(rounding), overflowRule(overflow), subnormalRule(subnormals), seed);
    List<Double> inputs = new ArrayList<>();
    for (String v : values) {
      inputs.add(parseValue(v)); // all parsed before anything is printed
    }
    PrintWriter out = spec.commandLine().getOut();
    int stored = f.info().precisionBits() - 1;
    int exp = f.info().exponentBits();
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"input", "rounded", "sign | exponent | mantissa", "hex", "class", "flags"});
    JsonMapper mapper = json ? JsonMapper.builder().build() : null;
    for (int i = 0; i < inputs.size(); i++) {
      RoundResult r = f.roundWithFlags(inputs.get(i), rs, i);
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
        o.put("error", Double.isFinite(r.value() - r.input()) ? r.value() - r.input() : null);
        o.put("bits", hex);
        o.put("sign", sign);
        o.put("exponent", exponent);
        o.put("mantissa", mantissa);
        o.put("class", r.valueClass().label());
        o.put("overflow", r.overflow());
        o.put("underflow", r.underflow());
        out.println(mapper.writeValueAsString(o));
      } else {
        rows.add(new String[] {values.get(i), show(r.value()), sign + " | " + exponent + " | " + mantissa, hex,
            r.valueClass().label(), flags.strip()});
      }
    }
    if (!json) {
      out.println(f.name() + ", " + rs + " (" + stored + " mantissa bits stored, " + exp + " exponent bits)");
      FormatsCommand.printTable(out, rows);
    }
    out.flush();
    return 0;
  }

  static double parseValue(String text) {
    String t = text.strip().toLowerCase(Locale.ROOT);
    switch (t) {
      case "inf", "+inf", "infinity", "+infinity" -> {
        return Double.POSITIVE_INFINITY;
      }
      case "-inf", "-infinity" -> {
        return Double.NEGATIVE_INFINITY;
      }
      case "nan" -> {
        return Double.NaN;
      }
      default -> {}
    }
    try {
      if (t.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)(e[+-]?\\d+)?|[+-]?0x[0-9a-f]*\\.?[0-9a-f]*p[+-]?\\d+")) {
        return Double.parseDouble(t);
      }
    } catch (NumberFormatException e) {
      // fall through to the message below
    }
    throw new IllegalArgumentException("not a number: '" + text
        + "' (expected a decimal like 65520 or 1e-8, a hex float like 0x1p-14, inf, -inf or nan)");
  }

  private static Overflow overflowRule(String s) {
    return switch (s.strip().toLowerCase(Locale.ROOT)) {
      case "ieee", "inf" -> Overflow.IEEE;
      case "saturate", "sat" -> Overflow.SATURATE;
      default -> throw new IllegalArgumentException("unknown overflow rule '" + s + "': expected ieee or saturate");
    };
  }

  private static Subnormals subnormalRule(String s) {
    return switch (s.strip().toLowerCase(Locale.ROOT)) {
      case "keep" -> Subnormals.KEEP;
      case "flush", "ftz" -> Subnormals.FLUSH;
      default -> throw new IllegalArgumentException("unknown subnormal rule '" + s + "': expected keep or flush");
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
