package io.nanscope.editing.bisect;

import io.nanscope.editing.keys.OptimiserStateSite;
import io.nanscope.editing.keys.UpdateSite;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.Site;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * The named sites a precision policy can give their own format in a Llama model, in execution
 * order: the sites {@code LlamaModel} looks its precision up for ({@code policy.of(kind, site)}),
 * plus the two additions ROME's v* optimisation makes ({@code layers.L.mlp.delta}, {@code
 * layers.L.delta}) and, in an edited layer, the weight update ({@code
 * layers.L.mlp.down_proj.update}: the right vector and rank-one update of ROME, the residual and ΔW
 * of MEMIT and AlphaEdit; see {@code editing.keys.UpdateSite}).
 *
 * <p>What a site override widens: the op's output, its accumulator and its element-wise
 * intermediates. The op's backward writes each input's gradient in that input's own format (the
 * engine's {@code Var.gradFormat}, the format of the value), so widening a site's output also
 * widens the gradient that flows back into it: a site covers its forward value and its backward
 * gradient. The edit's optimiser state (δ and Adam's moments) is FP32 under every built-in policy,
 * as in EasyEdit, so it is never narrower than the wide format and is not a candidate.
 */
public final class SiteMap {

  private SiteMap() {}

  /** The per-layer sites, relative to {@code layers.L}, in the order the layer runs them. */
  public static final List<String> IN_LAYER =
      List.of(
          "input_layernorm",
          "self_attn.q_proj",
          "self_attn.k_proj",
          "self_attn.v_proj",
          "self_attn.rope_q",
          "self_attn.rope_k",
          "self_attn",
          "self_attn.softmax",
          "self_attn.o_proj",
          "residual_attn",
          "post_attention_layernorm",
          "mlp.gate_proj",
          "mlp.up_proj",
          "mlp.act",
          "mlp.act_mul_up",
          "mlp.down_proj",
          "mlp.down_proj.update",
          "mlp.delta",
          "residual_mlp",
          "delta");

  /**
   * Every site of a model with {@code layers} layers, in execution order, without update sites (no
   * layer edited).
   */
  public static List<String> sites(int layers) {
    return sites(layers, List.of());
  }

  /**
   * Every site of a model with {@code layers} layers, in execution order; the weight update site
   * ({@code layers.L.mlp.down_proj.update}, {@link UpdateSite}) only in the {@code edited} layers,
   * where the edit computes one.
   */
  public static List<String> sites(int layers, Collection<Integer> edited) {
    return sites(layers, edited, List.of());
  }

  /**
   * The same, then {@code optimiserState}: the optimiser state sites of the run ({@code
   * adam.<weight>}, {@link OptimiserStateSite}), after the head.
   */
  public static List<String> sites(
      int layers, Collection<Integer> edited, List<String> optimiserState) {
    List<String> out = new ArrayList<>();
    out.add("embed_tokens");
    for (int l = 0; l < layers; l++) {
      for (String s : IN_LAYER) {
        if (s.endsWith(UpdateSite.SUFFIX) && !edited.contains(l)) {
          continue;
        }
        out.add("layers." + l + "." + s);
      }
    }
    out.add("norm");
    out.add("lm_head");
    out.addAll(optimiserState);
    return out;
  }

  /** The layer of a {@code layers.L.…} site, or -1 for the sites outside the layers. */
  public static int layer(String site) {
    if (!site.startsWith("layers.")) {
      return -1;
    }
    int end = site.indexOf('.', 7);
    return Integer.parseInt(end < 0 ? site.substring(7) : site.substring(7, end));
  }

  /** The site without its {@code layers.L.} prefix. */
  public static String inLayer(String site) {
    return layer(site) < 0 ? site : site.substring(site.indexOf('.', 7) + 1);
  }

  /**
   * Whether {@code policy} runs some op at {@code site} with an output narrower than {@code wide}
   * (fewer significand bits or a smaller largest finite value): only those sites can be widened.
   */
  public static boolean narrower(PrecisionPolicy policy, String site, FloatFormat wide) {
    if (UpdateSite.is(site) || OptimiserStateSite.is(site)) {
      FloatFormat out =
          UpdateSite.is(site)
              ? UpdateSite.format(policy, layer(site))
              : policy
                  .siteOverride(new Site(site))
                  .map(io.nanscope.engine.op.Precision::output)
                  .orElse(policy.storage());
      return out.info().precisionBits() < wide.info().precisionBits()
          || out.info().maxFinite() < wide.info().maxFinite();
    }
    Site s = new Site(site);
    for (OpKind k : OpKind.values()) {
      FloatFormat out = policy.of(k, s).output();
      if (out.info().precisionBits() < wide.info().precisionBits()
          || out.info().maxFinite() < wide.info().maxFinite()) {
        return true;
      }
    }
    return false;
  }
}
