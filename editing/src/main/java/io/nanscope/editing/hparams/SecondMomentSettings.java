package io.nanscope.editing.hparams;

import java.util.Map;

/**
 * Where the key second moment C = E[k kᵀ] comes from (docs/reference/easyedit.md §3).
 *
 * @param adjustment {@code mom2_adjustment}: ROME uses u = C⁻¹k* / ‖C⁻¹k*‖ when true, k* / ‖k*‖
 *     when false
 * @param dataset {@code mom2_dataset}: EasyEdit's name for the corpus ("wikipedia"); ours may name
 *     a file
 * @param nSamples {@code mom2_n_samples}: number of texts
 * @param dtype {@code mom2_dtype}: the dtype keys are cast to before accumulation ("float32")
 */
public record SecondMomentSettings(
    boolean adjustment, String dataset, long nSamples, String dtype) {

  void putInto(Map<String, Object> yaml) {
    yaml.put("mom2_adjustment", adjustment);
    yaml.put("mom2_dataset", dataset);
    yaml.put("mom2_n_samples", nSamples);
    yaml.put("mom2_dtype", dtype);
  }
}
