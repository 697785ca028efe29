package io.nanscope.editing.hparams;

import java.util.Map;

/**
 * The v* (ROME) / z (MEMIT) optimisation settings shared by ROME and MEMIT
 * (docs/reference/easyedit.md §4): a delta at the MLP output of the edited layer, Adam with
 * learning rate {@code lr} for at most {@code numGradSteps} iterations, loss = NLL + klFactor·KL +
 * weightDecay·‖δ‖/‖v_init‖², δ clamped to clampNormFactor·‖v_init‖.
 *
 * @param numGradSteps {@code v_num_grad_steps}
 * @param lr {@code v_lr}
 * @param lossLayer {@code v_loss_layer}: the layer whose output feeds the loss (ROME uses max(it,
 *     layer))
 * @param weightDecay {@code v_weight_decay}
 * @param clampNormFactor {@code clamp_norm_factor}
 * @param klFactor {@code kl_factor}
 * @param targetTokens {@code target_tokens} (nanscope extension; EasyEdit's behaviour by default)
 */
public record ValueOptimization(
    int numGradSteps,
    double lr,
    int lossLayer,
    double weightDecay,
    double clampNormFactor,
    double klFactor,
    TargetTokens targetTokens) {

  /** EasyEdit's settings (its target tokenization). */
  public ValueOptimization(
      int numGradSteps,
      double lr,
      int lossLayer,
      double weightDecay,
      double clampNormFactor,
      double klFactor) {
    this(
        numGradSteps, lr, lossLayer, weightDecay, clampNormFactor, klFactor, TargetTokens.EASYEDIT);
  }

  void putInto(Map<String, Object> yaml) {
    yaml.put("v_num_grad_steps", numGradSteps);
    yaml.put("v_lr", lr);
    yaml.put("v_loss_layer", lossLayer);
    yaml.put("v_weight_decay", weightDecay);
    yaml.put("clamp_norm_factor", clampNormFactor);
    yaml.put("kl_factor", klFactor);
    if (targetTokens != TargetTokens.EASYEDIT) {
      yaml.put("target_tokens", targetTokens.key());
    }
  }
}
