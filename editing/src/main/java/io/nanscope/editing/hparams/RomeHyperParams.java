package io.nanscope.editing.hparams;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * ROME hyperparameters (Meng et al. 2022) with EasyEdit's keys ({@code ROMEHyperParams},
 * docs/reference/easyedit.md §5), and R-ROME's ({@code alg_name: "R-ROME"}, EasyEdit {@code
 * R_ROMEHyperParams}: ROME's keys plus the three of {@link RRomeKeys}). Required keys are those
 * without a default in EasyEdit's dataclass; {@code max_length} (40), {@code model_parallel}
 * (false) and {@code fp16} (false) default as there; {@code model_name}, {@code stats_dir} and
 * {@code device} are bookkeeping and default to "", "./data/stats" and 0.
 *
 * @param algName "ROME" or "R-ROME"
 * @param modelName {@code model_name}
 * @param statsDir {@code stats_dir}: where layer statistics (.npz) are cached
 * @param device {@code device}: CUDA device index in EasyEdit; recorded, not used here
 * @param layers {@code layers}: the edited layer(s), e.g. [5]
 * @param factToken {@code fact_token}: which token the key is read at, e.g. "subject_last"
 * @param valueOptimization the v* settings
 * @param secondMoment the C = E[k kᵀ] settings
 * @param contextTemplateLengthParams {@code context_template_length_params}: [max_out_len, count]
 *     pairs
 * @param modules the module-name templates
 * @param modelParallel {@code model_parallel}
 * @param fp16 {@code fp16}: EasyEdit loads the model in float16 when true (the #290 setting)
 * @param maxLength {@code max_length}: minimum padded length of evaluation inputs
 * @param rRome R-ROME's key options; empty for ROME (whose files have none of those keys)
 */
public record RomeHyperParams(
    String algName,
    String modelName,
    String statsDir,
    int device,
    List<Integer> layers,
    String factToken,
    ValueOptimization valueOptimization,
    SecondMomentSettings secondMoment,
    List<List<Integer>> contextTemplateLengthParams,
    ModuleTemplates modules,
    boolean modelParallel,
    boolean fp16,
    int maxLength,
    Optional<RRomeKeys> rRome)
    implements EditHyperParams {

  /** EasyEdit's {@code alg_name} of R-ROME. */
  public static final String R_ROME = "R-ROME";

  /** The fact_token values ROME's {@code repr_tools} understands. */
  public static final Set<String> FACT_TOKENS =
      Set.of("subject_first", "subject_last", "subject_first_after_last", "last");

  public RomeHyperParams {
    layers = List.copyOf(layers);
    contextTemplateLengthParams = List.copyOf(contextTemplateLengthParams);
    if (rRome.isPresent() != R_ROME.equals(algName)) {
      throw new IllegalArgumentException(
          "R-ROME's key options go with alg_name \"R-ROME\" and only with it; got alg_name \""
              + algName
              + "\" with"
              + (rRome.isPresent() ? "" : "out")
              + " them");
    }
  }

  /** ROME (no R-ROME options): the components as before R-ROME was added. */
  public RomeHyperParams(
      String algName,
      String modelName,
      String statsDir,
      int device,
      List<Integer> layers,
      String factToken,
      ValueOptimization valueOptimization,
      SecondMomentSettings secondMoment,
      List<List<Integer>> contextTemplateLengthParams,
      ModuleTemplates modules,
      boolean modelParallel,
      boolean fp16,
      int maxLength) {
    this(
        algName,
        modelName,
        statsDir,
        device,
        layers,
        factToken,
        valueOptimization,
        secondMoment,
        contextTemplateLengthParams,
        modules,
        modelParallel,
        fp16,
        maxLength,
        R_ROME.equals(algName) ? Optional.of(RRomeKeys.DEFAULTS) : Optional.empty());
  }

  /** Whether this is R-ROME. */
  public boolean isRRome() {
    return rRome.isPresent();
  }

  static RomeHyperParams read(HparamsFields f) {
    String alg = f.algName();
    RomeHyperParams p =
        new RomeHyperParams(
            alg,
            f.optionalString("model_name", ""),
            f.optionalString("stats_dir", "./data/stats"),
            f.optionalInt("device", 0),
            f.requiredIntList("layers"),
            f.factToken(),
            f.valueOptimization(),
            f.secondMoment(),
            f.requiredIntPairs("context_template_length_params"),
            f.moduleTemplates(),
            f.optionalBoolean("model_parallel", false),
            f.optionalBoolean("fp16", false),
            f.has("max_length") ? f.intInRange("max_length", 1, 1 << 20) : 40,
            R_ROME.equals(alg) ? Optional.of(RRomeKeys.read(f)) : Optional.empty());
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
    y.put("fact_token", factToken);
    valueOptimization.putInto(y);
    y.put("context_template_length_params", contextTemplateLengthParams);
    secondMoment.putInto(y);
    modules.putInto(y);
    y.put("model_parallel", modelParallel);
    y.put("fp16", fp16);
    y.put("max_length", maxLength);
    rRome.ifPresent(k -> k.putInto(y));
    return y;
  }
}
