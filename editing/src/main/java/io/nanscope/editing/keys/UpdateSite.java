package io.nanscope.editing.keys;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.Site;

/**
 * The weight update of an editing algorithm as a named site of the precision policy: {@code
 * layers.L.mlp.down_proj.update}. It covers the arithmetic between the optimised values and the new
 * weights, which is not an engine op:
 *
 * <ul>
 *   <li>ROME (and R-ROME): {@code diff = v* − W k}, {@code kᵀu}, {@code r = diff / (kᵀu)} and the
 *       update matrix {@code r ⊗ u};
 *   <li>MEMIT and AlphaEdit: the residual {@code R = Z − h_L}, the spread {@code R / divisor} and
 *       the dense update ΔW before it is added to W.
 * </ul>
 *
 * Each of these is rounded to the site's format. The default — no site override matches — is the
 * policy's storage format, what EasyEdit computes in the model's dtype ({@code torch_dtype}), so
 * every policy without an {@code update} entry gives the same bits as before the site existed. A
 * policy file can widen it:
 *
 * <pre>
 * sites:
 *   "layers.1.mlp.down_proj.update": {output: fp32}
 * </pre>
 *
 * The new weights {@code W' = W + update} are rounded once to W's own format in every case: the
 * model stores its weights in the storage format, and the site does not change that. Wider than
 * FP32 is taken as FP32 (the right vector is a float array).
 */
public final class UpdateSite {

  private UpdateSite() {}

  /** The suffix of the site, after {@code layers.L.mlp.down_proj}. */
  public static final String SUFFIX = "update";

  /** {@code layers.L.mlp.down_proj.update}. */
  public static Site of(int layer) {
    return Site.of("layers", layer, "mlp", "down_proj").child(SUFFIX);
  }

  /** Whether {@code site} names an update site ({@code layers.L.mlp.down_proj.update}). */
  public static boolean is(String site) {
    return site.startsWith("layers.") && site.endsWith(".mlp.down_proj." + SUFFIX);
  }

  /**
   * The format layer {@code layer}'s update is computed in under {@code policy}: the output of the
   * first site override matching {@link #of}, else the storage format; at most FP32.
   */
  public static FloatFormat format(PrecisionPolicy policy, int layer) {
    FloatFormat f = policy.siteOverride(of(layer)).map(Precision::output).orElse(policy.storage());
    return f.info().precisionBits() > FloatFormat.FP32.info().precisionBits()
        ? FloatFormat.FP32
        : f;
  }
}
