package io.nanscope.editing.hparams;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * MEMIT hyperparameters (Meng et al. 2023) with EasyEdit's keys ({@code MEMITHyperParams},
 * docs/reference/easyedit.md §5). EasyEdit's MEMIT has no fp16 field: an {@code fp16} key is
 * reported as unknown.
 *
 * @param algName always "MEMIT"
 * @param modelName {@code model_name}
 * @param statsDir {@code stats_dir}
 * @param device {@code device}
 * @param layers {@code layers}, e.g. [4, 5, 6, 7, 8]
 * @param layerSelection {@code layer_selection} ("all")
 * @param factToken {@code fact_token}
 * @param valueOptimization the z settings (same keys as ROME's v*)
 * @param secondMoment the C settings
 * @param mom2UpdateWeight {@code mom2_update_weight}: λ in ΔW = R Kᵀ(λC + KKᵀ)⁻¹
 * @param modules the module-name templates
 * @param modelParallel {@code model_parallel}
 * @param maxLength {@code max_length} (default 40)
 * @param batchSize {@code batch_size} (default 1)
 */
public record MemitHyperParams(
    String algName,
    String modelName,
    String statsDir,
    int device,
    List<Integer> layers,
    String layerSelection,
    String factToken,
    ValueOptimization valueOptimization,
    SecondMomentSettings secondMoment,
    double mom2UpdateWeight,
    ModuleTemplates modules,
    boolean modelParallel,
    int maxLength,
    int batchSize)
    implements EditHyperParams {

  public MemitHyperParams {
    layers = List.copyOf(layers);
  }

  static MemitHyperParams read(HparamsFields f) {
    MemitHyperParams p =
        new MemitHyperParams(
            f.algName(),
            f.optionalString("model_name", ""),
            f.optionalString("stats_dir", "./data/stats"),
            f.optionalInt("device", 0),
            f.requiredIntList("layers"),
            f.requiredString("layer_selection"),
            f.factToken(),
            f.valueOptimization(),
            f.secondMoment(),
            f.requiredDouble("mom2_update_weight"),
            f.moduleTemplates(),
            f.optionalBoolean("model_parallel", false),
            f.optionalInt("max_length", 40),
            f.optionalInt("batch_size", 1));
    HyperParamsYaml.checkCommon(f, p.layers(), p.modules());
    return p;
  }

  @Override
  public Map<String, Object> toYaml() {
    Map<String, Object> y = new LinkedHashMap<>();
    y.put("alg_name", algName);
    y.put("model_name", modelName);
    y.put("stats_dir", statsDir);
    y.put("device", device);
    y.put("layers", layers);
    y.put("layer_selection", layerSelection);
    y.put("fact_token", factToken);
    valueOptimization.putInto(y);
    secondMoment.putInto(y);
    y.put("mom2_update_weight", mom2UpdateWeight);
    modules.putInto(y);
    y.put("model_parallel", modelParallel);
    y.put("max_length", maxLength);
    y.put("batch_size", batchSize);
    return y;
  }
}
