package io.nanscope.editing.hparams;

import java.util.Map;

/**
 * R-ROME's key options (Gupta, Baskaran, Anumanchipalli 2024, "Rebuilding ROME", arXiv 2403.07175;
 * EasyEdit {@code R_ROMEHyperParams}, keys {@code enable_prompt_keys}, {@code
 * enable_random_prefix_keys}, {@code original_implementation}). ROME's update {@code r = (v* − W
 * k)/(kᵀu)} uses two keys: the one u is built from and the one in {@code kᵀu} and {@code W k}. ROME
 * builds u from the template-averaged key k̄ but puts the bare prompt's key k in the update; R-ROME
 * uses the same key in both places. EasyEdit's r_rome code decides:
 *
 * <pre>
 *   u from k̄              if original_implementation or enable_random_prefix_keys, else from k
 *   kᵀu, W k with k̄       if enable_random_prefix_keys (and W k̄ = mean over contexts of W k_i,
 *                          v* = v_init + δ), else with k (and v* = W k + δ)
 * </pre>
 *
 * and refuses {@code enable_prompt_keys == enable_random_prefix_keys} unless {@code
 * original_implementation}. EasyEdit's defaults: false, true, false (k̄ in both places).
 */
public record RRomeKeys(
    boolean enablePromptKeys, boolean enableRandomPrefixKeys, boolean originalImplementation) {

  /** EasyEdit's dataclass defaults: the template-averaged key in both places. */
  public static final RRomeKeys DEFAULTS = new RRomeKeys(false, true, false);

  /** Whether u is built from the template-averaged key k̄ (else from the bare prompt's key k). */
  public boolean templateKeyForU() {
    return originalImplementation || enableRandomPrefixKeys;
  }

  /**
   * Whether kᵀu and W k use k̄ and the template-averaged output (else the bare prompt's k and W k).
   */
  public boolean templateKeyInUpdate() {
    return enableRandomPrefixKeys;
  }

  /**
   * The method EasyEdit prints ("Using key modification method: ..."), or null when it prints none.
   */
  public String methodName() {
    if (originalImplementation) {
      return null;
    }
    return enablePromptKeys ? "use_prompt_keys" : "use_random_prefix_keys";
  }

  static RRomeKeys read(HparamsFields f) {
    RRomeKeys k =
        new RRomeKeys(
            f.optionalBoolean("enable_prompt_keys", DEFAULTS.enablePromptKeys),
            f.optionalBoolean("enable_random_prefix_keys", DEFAULTS.enableRandomPrefixKeys),
            f.optionalBoolean("original_implementation", DEFAULTS.originalImplementation));
    if (!k.originalImplementation && k.enablePromptKeys == k.enableRandomPrefixKeys) {
      throw f.invalid(
          "enable_prompt_keys",
          "enable_prompt_keys and enable_random_prefix_keys are both "
              + k.enablePromptKeys
              + "; R-ROME needs exactly one of them (or original_implementation: true), as EasyEdit"
              + " asserts");
    }
    return k;
  }

  void putInto(Map<String, Object> y) {
    y.put("enable_prompt_keys", enablePromptKeys);
    y.put("enable_random_prefix_keys", enableRandomPrefixKeys);
    y.put("original_implementation", originalImplementation);
  }
}
