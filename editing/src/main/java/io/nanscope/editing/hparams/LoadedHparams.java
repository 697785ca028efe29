package io.nanscope.editing.hparams;

import java.util.List;

/**
 * Hyperparameters read from a file, with the warnings found while reading (one per unknown key).
 *
 * @param source the file (or name) they were read from
 * @param hparams the typed record
 * @param warnings human-readable warnings, empty when every key was understood
 */
public record LoadedHparams<T extends EditHyperParams>(
    String source, T hparams, List<String> warnings) {

  public LoadedHparams {
    warnings = List.copyOf(warnings);
  }
}
