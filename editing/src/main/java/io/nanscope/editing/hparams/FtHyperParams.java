package io.nanscope.editing.hparams;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;

/**
 * Fine-tuning (FT-L / FT-M) hyperparameters with EasyEdit's keys ({@code FTHyperParams},
 * docs/reference/easyedit.md §5). EasyEdit's FT has no fp16 field. {@code batch_size} (64) and
 * {@code max_length} (40) default as in EasyEdit's dataclass.
 *
 * @param algName always "FT"
 * @param modelName {@code model_name}
 * @param device {@code device}
 * @param layers {@code layers}, e.g. [21]
 * @param numSteps {@code num_steps}
 * @param batchSize {@code batch_size}
 * @param maxLength {@code max_length}
 * @param lr {@code lr} (Adam)
 * @param weightDecay {@code weight_decay}
 * @param klFactor {@code kl_factor}
 * @param normConstraint {@code norm_constraint}: empty for {@code false}; ε clamps W to W₀ ± ε
 *     after every batch (a float; an integer is refused, see {@code HparamsFields})
 * @param objectiveOptimization {@code objective_optimization}: "prompt_last" (FT-L) or "target_new"
 *     (FT-M)
 * @param modules the module-name templates (FT's rewrite template names the {@code .weight})
 * @param modelParallel {@code model_parallel}
 */
public record FtHyperParams(
    String algName,
    String modelName,
    int device,
    List<Integer> layers,
    int numSteps,
    int batchSize,
    int maxLength,
    double lr,
    double weightDecay,
    double klFactor,
    OptionalDouble normConstraint,
    String objectiveOptimization,
    ModuleTemplates modules,
    boolean modelParallel)
    implements EditHyperParams {

  /** The objectives EasyEdit's FT implements. */
  public static final Set<String> OBJECTIVES = Set.of("prompt_last", "target_new");

  public FtHyperParams {
    layers = List.copyOf(layers);
  }

  static FtHyperParams read(HparamsFields f) {
    FtHyperParams p =
        new FtHyperParams(
            f.algName(),
            f.optionalString("model_name", ""),
            f.optionalInt("device", 0),
            f.requiredIntList("layers"),
            f.requiredInt("num_steps"),
            f.optionalInt("batch_size", 64),
            f.optionalInt("max_length", 40),
            f.requiredDouble("lr"),
            f.requiredDouble("weight_decay"),
            f.requiredDouble("kl_factor"),
            f.requiredFalseOrDouble("norm_constraint"),
            f.requiredString("objective_optimization"),
            f.moduleTemplates(),
            f.optionalBoolean("model_parallel", false));
    if (!OBJECTIVES.contains(p.objectiveOptimization())) {
      throw f.invalid(
          "objective_optimization",
          "\""
              + p.objectiveOptimization()
              + "\" is not one of "
              + OBJECTIVES
              + " (prompt_last = FT-L, target_new = FT-M)");
    }
    HyperParamsYaml.checkCommon(f, p.layers(), p.modules());
    return p;
  }

  @Override
  public Map<String, Object> toYaml() {
    Map<String, Object> y = new LinkedHashMap<>();
    y.put("alg_name", algName);
    y.put("model_name", modelName);
    y.put("device", device);
    y.put("layers", layers);
    y.put("num_steps", numSteps);
    y.put("batch_size", batchSize);
    y.put("max_length", maxLength);
    y.put("lr", lr);
    y.put("weight_decay", weightDecay);
    y.put("kl_factor", klFactor);
    y.put(
        "norm_constraint",
        normConstraint.isPresent() ? (Object) normConstraint.getAsDouble() : false);
    y.put("objective_optimization", objectiveOptimization);
    modules.putInto(y);
    y.put("model_parallel", modelParallel);
    return y;
  }
}
