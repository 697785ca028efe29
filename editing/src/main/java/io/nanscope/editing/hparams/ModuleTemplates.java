package io.nanscope.editing.hparams;

import java.util.Map;

/**
 * The module-name templates of an EasyEdit hparams file; {@code {}} stands for the layer index,
 * e.g. {@code model.layers.{}.mlp.down_proj} for layer 5 is {@code model.layers.5.mlp.down_proj}.
 *
 * @param rewriteModule {@code rewrite_module_tmp}: the weight ROME/MEMIT/FT rewrite (W_down)
 * @param layerModule {@code layer_module_tmp}: a whole decoder layer (residual stream output)
 * @param mlpModule {@code mlp_module_tmp}: the MLP block (its output is where v* is optimised)
 * @param attnModule {@code attn_module_tmp}: the attention block
 * @param finalNormModule {@code ln_f_module}: the final RMSNorm
 * @param lmHeadModule {@code lm_head_module}: the classifier
 */
public record ModuleTemplates(
    String rewriteModule,
    String layerModule,
    String mlpModule,
    String attnModule,
    String finalNormModule,
    String lmHeadModule) {

  /** Fills the layer index into a template (Python's {@code str.format} with one argument). */
  public static String atLayer(String template, int layer) {
    if (!template.contains("{}")) {
      throw new IllegalArgumentException(
          "module template \""
              + template
              + "\" has no {} for the layer index: write e.g. model.layers.{}.mlp");
    }
    return template.replace("{}", Integer.toString(layer));
  }

  void putInto(Map<String, Object> yaml) {
    yaml.put("rewrite_module_tmp", rewriteModule);
    yaml.put("layer_module_tmp", layerModule);
    yaml.put("mlp_module_tmp", mlpModule);
    yaml.put("attn_module_tmp", attnModule);
    yaml.put("ln_f_module", finalNormModule);
    yaml.put("lm_head_module", lmHeadModule);
  }
}
