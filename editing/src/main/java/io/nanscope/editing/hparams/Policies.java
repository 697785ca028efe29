package io.nanscope.editing.hparams;

import io.nanscope.engine.op.PrecisionPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resolves a {@code --policy} value, the same way for every command: a built-in name ({@code fp32},
 * {@code pytorch-fp16}, …), a YAML file of a custom policy (see {@code configs/precision/}), or the
 * name of one of those files ({@code fp16-down-proj-fp32} finds {@code
 * configs/precision/fp16-down-proj-fp32.yaml} under the nanscope home).
 */
public final class Policies {

  /** Where named policy files live, relative to the nanscope home. */
  public static final String DIRECTORY = "configs/precision";

  private Policies() {}

  /**
   * @param home the nanscope home ({@code configs/precision/} is looked up under it)
   * @throws IllegalArgumentException naming the accepted values when {@code value} is none of them
   */
  public static PrecisionPolicy resolve(String value, Path home) throws IOException {
    if (PrecisionPolicy.BUILT_IN.contains(value)) {
      return PrecisionPolicy.named(value);
    }
    Path file = Path.of(value);
    if (!Files.isRegularFile(file)) {
      file = home.resolve(DIRECTORY).resolve(value + ".yaml");
    }
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(
          "unknown precision policy '"
              + value
              + "': expected one of "
              + String.join(", ", PrecisionPolicy.BUILT_IN)
              + ", a policy YAML file, or the name of one in"
              + " configs/precision/");
    }
    return PrecisionPolicy.fromMap(HyperParamsYaml.readRaw(file));
  }
}
