package io.nanscope.editing.hparams;

import java.util.List;
import java.util.Map;

/** Hyperparameters of one editing algorithm, read from an EasyEdit YAML file. */
public sealed interface EditHyperParams
    permits RomeHyperParams, MemitHyperParams, FtHyperParams, AlphaEditHyperParams {

  /** EasyEdit's {@code alg_name}: "ROME", "R-ROME", "MEMIT", "FT" or "AlphaEdit". */
  String algName();

  /** The layers the algorithm rewrites. */
  List<Integer> layers();

  /**
   * The record as EasyEdit keys and YAML-native values (String, Integer, Long, Double, Boolean,
   * lists), in EasyEdit's key order; {@link HyperParamsYaml#write} serialises it.
   */
  Map<String, Object> toYaml();
}
