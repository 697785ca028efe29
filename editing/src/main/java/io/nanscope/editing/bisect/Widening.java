package io.nanscope.editing.bisect;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.PrecisionPolicy;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A built-in policy with some sites widened: the policy a trial runs, and the same policy as the
 * YAML text {@code --policy FILE} reads ({@link PrecisionPolicy#fromMap}), so what is printed is
 * exactly what was run.
 *
 * <p>A widened site gets {@code {output: W, accumulate: fp32, compute: fp32}} with W the wide
 * format: the three fields are written out because a site entry's missing fields are taken from the
 * base's matmul precision, not from the site's own op kind.
 *
 * @param base a built-in policy name ({@link PrecisionPolicy#BUILT_IN})
 * @param wide the format the widened sites output
 */
public record Widening(String base, FloatFormat wide) {

  public Widening {
    PrecisionPolicy.named(base);
    if (wide.info().precisionBits() > FloatFormat.FP32.info().precisionBits()) {
      throw new IllegalArgumentException(
          "the wide format must be fp32 or a narrower one such as bf16, got " + wide);
    }
  }

  /** The policy with {@code sites} widened, named {@code name}. */
  public PrecisionPolicy policy(String name, List<String> sites) {
    return PrecisionPolicy.fromMap(config(name, sites));
  }

  /** The parsed form of {@link #yaml}: name, base and one {@code sites} entry per site. */
  public Map<String, Object> config(String name, List<String> sites) {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("name", name);
    root.put("base", base);
    Map<String, Object> bySite = new LinkedHashMap<>();
    for (String s : sites) {
      bySite.put(s, entry());
    }
    if (!bySite.isEmpty()) {
      root.put("sites", bySite);
    }
    return root;
  }

  private Map<String, Object> entry() {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("output", formatName(wide));
    e.put("accumulate", "fp32");
    e.put("compute", "fp32");
    return e;
  }

  /**
   * The policy as YAML, with {@code comment} lines first (each prefixed with {@code # }); the site
   * names are quoted and hold no glob, so each entry matches exactly one site.
   */
  public String yaml(String name, List<String> sites, List<String> comment) {
    StringBuilder b = new StringBuilder();
    for (String c : comment) {
      b.append("# ").append(c).append('\n');
    }
    b.append("name: ").append(name).append('\n');
    b.append("base: ").append(base).append('\n');
    if (!sites.isEmpty()) {
      b.append("sites:\n");
      for (String s : sites) {
        b.append(
            String.format(
                Locale.ROOT,
                "  \"%s\": {output: %s, accumulate: fp32, compute: fp32}%n",
                s,
                formatName(wide)));
      }
    }
    return b.toString();
  }

  /** {@code fp32}, {@code bf16}: the name {@link PrecisionPolicy#parseFormat} reads back. */
  static String formatName(FloatFormat f) {
    return f.name().toLowerCase(Locale.ROOT);
  }
}
