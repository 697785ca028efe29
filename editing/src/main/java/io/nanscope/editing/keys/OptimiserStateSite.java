package io.nanscope.editing.keys;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.Site;

/**
 * The optimiser state of a trained weight as a named site of the precision policy: {@code
 * adam.<weight>}, e.g. {@code adam.layers.3.mlp.down_proj.weight} for FT's Adam moments (the
 * engine's Adam reports them as {@code adam.<weight>.exp_avg}, {@code .exp_avg_sq} and {@code
 * .denom}). Its default is the algorithm's own (FT: the weight's format, as {@code
 * torch.optim.Adam} creates its state with {@code zeros_like(param)}); a policy site override sets
 * the state's format:
 *
 * <pre>
 * sites:
 *   "adam.layers.3.mlp.down_proj.weight": {output: fp32}
 * </pre>
 */
public final class OptimiserStateSite {

  private OptimiserStateSite() {}

  /** The prefix of every optimiser state site. */
  public static final String PREFIX = "adam.";

  /** {@code adam.<weight>}, e.g. {@code adam.layers.3.mlp.down_proj.weight}. */
  public static Site of(String weight) {
    return Site.of("adam", weight);
  }

  /** Whether {@code site} names an optimiser state site or one of its traced parts. */
  public static boolean is(String site) {
    return site.startsWith(PREFIX);
  }

  /**
   * The policy site of a traced optimiser site: {@code adam.<weight>.exp_avg} → {@code
   * adam.<weight>}; any other name unchanged.
   */
  public static String policySite(String traced) {
    if (!is(traced)) {
      return traced;
    }
    for (String part : new String[] {".exp_avg_sq", ".exp_avg", ".denom"}) {
      if (traced.endsWith(part)) {
        return traced.substring(0, traced.length() - part.length());
      }
    }
    return traced;
  }

  /**
   * The state format of {@code weight}'s optimiser under {@code policy}: the output of the first
   * site override matching {@link #of}, else {@code algorithmDefault}.
   */
  public static FloatFormat format(
      PrecisionPolicy policy, String weight, FloatFormat algorithmDefault) {
    return policy.siteOverride(of(weight)).map(Precision::output).orElse(algorithmDefault);
  }
}
