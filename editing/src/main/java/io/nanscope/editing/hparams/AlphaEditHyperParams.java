package io.nanscope.editing.hparams;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AlphaEdit hyperparameters (Fang et al., ICLR 2025) with EasyEdit's keys ({@code
 * AlphaEditHyperParams}): MEMIT's keys plus the null-space threshold, the ridge L2 and the
 * projector cache path. EasyEdit's AlphaEdit has no fp16 field: an {@code fp16} key is reported as
 * unknown.
 *
 * @param algName always "AlphaEdit"
 * @param modelName {@code model_name}
 * @param statsDir {@code stats_dir}
 * @param pLoc {@code P_loc}: where EasyEdit caches the projectors (read as a name only here: the
 *     projectors are computed from C, which nanscope caches itself)
 * @param device {@code device}
 * @param layers {@code layers}, e.g. [4, 5, 6, 7, 8]
 * @param layerSelection {@code layer_selection} ("all")
 * @param factToken {@code fact_token}
 * @param valueOptimization the z settings (same keys as ROME's v*)
 * @param secondMoment the C settings
 * @param mom2UpdateWeight {@code mom2_update_weight}: present in EasyEdit's files, unused by its
 *     AlphaEdit
 * @param nullspaceThreshold {@code nullspace_threshold}: eigenvalues of C below it span the null
 *     space
 * @param l2 {@code L2}: the ridge α in (P(KKᵀ + K_pK_pᵀ) + αI)
 * @param modules the module-name templates
 * @param modelParallel {@code model_parallel}
 * @param maxLength {@code max_length} (default 40)
 * @param batchSize {@code batch_size} (default 1)
 */
public record AlphaEditHyperParams(
    String algName,
    String modelName,
    String statsDir,
    String pLoc,
    int device,
    List<Integer> layers,
    String layerSelection,
    String factToken,
    ValueOptimization valueOptimization,
    SecondMomentSettings secondMoment,
    double mom2UpdateWeight,
    double nullspaceThreshold,
    double l2,
    ModuleTemplates modules,
    boolean modelParallel,
    int maxLength,
    int batchSize)
    implements EditHyperParams {

  public AlphaEditHyperParams {
    layers = List.copyOf(layers);
  }

  static AlphaEditHyperParams read(HparamsFields f) {
    AlphaEditHyperParams p =
        new AlphaEditHyperParams(
            f.algName(),
            f.optionalString("model_name", ""),
            f.optionalString("stats_dir", "./data/stats"),
            f.optionalString("P_loc", "./null_space_project.pt"),
            f.optionalInt("device", 0),
            f.requiredIntList("layers"),
            f.requiredString("layer_selection"),
            f.factToken(),
            f.valueOptimization(),
            f.secondMoment(),
            f.requiredDouble("mom2_update_weight"),
            f.requiredDouble("nullspace_threshold"),
            f.requiredDouble("L2"),
            f.moduleTemplates(),
            f.optionalBoolean("model_parallel", false),
            f.optionalInt("max_length", 40),
            f.optionalInt("batch_size", 1));
    if (!(p.nullspaceThreshold() > 0)) {
      throw f.invalid(
          "nullspace_threshold", p.nullspaceThreshold() + " must be > 0 (EasyEdit: 2e-2)");
    }
    if (!(p.l2() >= 0)) {
      throw f.invalid("L2", p.l2() + " must be >= 0 (EasyEdit: 1 or 10)");
    }
    HyperParamsYaml.checkCommon(f, p.layers(), p.modules());
    return p;
  }

  @Override
  public Map<String, Object> toYaml() {
    Map<String, Object> y = new LinkedHashMap<>();
    y.put("alg_name", algName);
    y.put("model_name", modelName);
    y.put("stats_dir", statsDir);
    y.put("P_loc", pLoc);
    y.put("device", device);
    y.put("layers", layers);
    y.put("layer_selection", layerSelection);
    y.put("fact_token", factToken);
    valueOptimization.putInto(y);
    secondMoment.putInto(y);
    y.put("mom2_update_weight", mom2UpdateWeight);
    modules.putInto(y);
    y.put("nullspace_threshold", nullspaceThreshold);
    y.put("L2", l2);
    y.put("model_parallel", modelParallel);
    y.put("max_length", maxLength);
    y.put("batch_size", batchSize);
    return y;
  }
}
