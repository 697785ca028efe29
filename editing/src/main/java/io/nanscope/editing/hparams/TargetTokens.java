package io.nanscope.editing.hparams;

import java.util.Arrays;
import java.util.Locale;

/**
 * Which tokens the v* optimisation asks the model for (hparams key {@code target_tokens}, a
 * nanscope extension: EasyEdit files do not have it and get {@link #EASYEDIT}).
 *
 * <p>EasyEdit encodes the target on its own, {@code tok.encode(" " + target_new)}. With a
 * SentencePiece tokenizer (Llama-2's, and tok512 of the embedded model) that starts with a lone
 * {@code "▁"} piece (Llama-2's id 29871), so the first supervised position asks for {@code "▁"}
 * after the word before the prompt's last one — a token the model never writes there, and one the
 * evaluation never asks for (it teacher-forces {@code prompt + " " + target} encoded as one text).
 * {@link #IN_CONTEXT} asks for exactly the tokens the evaluation checks: those that follow the
 * prompt in the encoding of {@code prompt + " " + target}.
 */
public enum TargetTokens {
  /**
   * EasyEdit's {@code tok.encode(target)} placed after {@code prompt +
   * tok.decode(target_ids[:-1])}.
   */
  EASYEDIT("easyedit"),
  /** The tokens after the prompt in the encoding of {@code prompt + " " + target}, as evaluated. */
  IN_CONTEXT("in_context");

  private final String key;

  TargetTokens(String key) {
    this.key = key;
  }

  /** The YAML value. */
  public String key() {
    return key;
  }

  static TargetTokens parse(String source, String value) {
    for (TargetTokens t : values()) {
      if (t.key.equals(value.toLowerCase(Locale.ROOT))) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        source
            + ": key 'target_tokens': expected one of "
            + Arrays.stream(values()).map(TargetTokens::key).toList()
            + ", got \""
            + value
            + "\"");
  }
}
