package io.nanscope.cli;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.FormatInfo;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code nanscope formats}: the limits of every number format, like torch.finfo with unambiguous
 * names.
 */
@Command(
    name = "formats",
    mixinStandardHelpOptions = true,
    description = {
      "Prints every number format's limits (like torch.finfo, with unambiguous names).",
      "p counts the hidden bit (fp16: 11); ulpOfOne = 2^(1-p) is torch's eps; minNormal is torch's tiny."
    })
final class FormatsCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--json", description = "One JSON object per format instead of the table.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      JsonMapper mapper = JsonMapper.builder().build();
      for (FloatFormat f : FloatFormat.builtIns()) {
        FormatInfo i = f.info();
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("format", f.name());
        row.put("bits", i.bits());
        row.put("storageBytes", f.bytes());
        row.put("precisionBits", i.precisionBits());
        row.put("exponentBits", i.exponentBits());
        row.put("maxFinite", i.maxFinite());
        row.put("minNormal", i.minNormal());
        row.put("minSubnormal", i.minSubnormal());
        row.put("ulpOfOne", i.ulpOfOne());
        row.put("hasInfinity", i.hasInfinity());
        out.println(mapper.writeValueAsString(row));
      }
      out.flush();
      return 0;
    }
    List<String[]> rows = new ArrayList<>();
    rows.add(
        new String[] {
          "format",
          "bits",
          "p",
          "exp",
          "maxFinite",
          "minNormal",
          "minSubnormal",
          "ulpOfOne",
          "infinity"
        });
    for (FloatFormat f : FloatFormat.builtIns()) {
      FormatInfo i = f.info();
      rows.add(
          new String[] {
            f.name(),
            String.valueOf(i.bits()),
            String.valueOf(i.precisionBits()),
            String.valueOf(i.exponentBits()),
            number(i.maxFinite()),
            number(i.minNormal()),
            number(i.minSubnormal()),
            number(i.ulpOfOne()),
            i.hasInfinity() ? "yes" : "no (overflow -> NaN)"
          });
    }
    printTable(out, rows);
    out.println();
    out.println(
        "p = significand bits including the hidden bit; exp = exponent bits."
            + " fp8-e4m3 is OCP E4M3FN (NaN = S.1111.111); custom formats: --format custom:p=P,e=E.");
    out.flush();
    return 0;
  }

  /** Integers as integers (65504), everything else with 8 significant digits (6.1035156e-05). */
  static String number(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e15) {
      return String.valueOf((long) v);
    }
    return String.format("%.7e", new java.math.BigDecimal(v)); // exact, also for subnormal doubles
  }

  /** Left-aligned first column, right-aligned others, two spaces between. */
  static void printTable(PrintWriter out, List<String[]> rows) {
    int[] width = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int c = 0; c < r.length; c++) {
        width[c] = Math.max(width[c], r[c].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < r.length; c++) {
        String cell = r[c];
        String pad = " ".repeat(width[c] - cell.length());
        line.append(c == 0 || c == r.length - 1 ? cell + pad : pad + cell);
        if (c < r.length - 1) {
          line.append("  ");
        }
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
