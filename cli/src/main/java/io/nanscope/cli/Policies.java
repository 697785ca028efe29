package io.nanscope.cli;

import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.engine.op.PrecisionPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resolves a {@code --policy} value: a built-in name ({@code fp32}, {@code pytorch-fp16}, …), a YAML
 * file of a custom policy (see {@code configs/precision/}), or the name of one of those files
 * ({@code fp16-down-proj-fp32} finds {@code configs/precision/fp16-down-proj-fp32.yaml}).
 */
final class Policies {

  private Policies() {}

  static PrecisionPolicy resolve(String value) throws IOException {
    if (PrecisionPolicy.BUILT_IN.contains(value)) {
      return PrecisionPolicy.named(value);
    }
    Path file = Path.of(value);
    if (!Files.isRegularFile(file)) {
      file = EditCommand.home().resolve("configs/precision").resolve(value + ".yaml");
    }
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("unknown precision policy '" + value + "': expected one of "
          + String.join(", ", PrecisionPolicy.BUILT_IN) + ", a policy YAML file, or the name of one in"
          + " configs/precision/");
    }
    return PrecisionPolicy.fromMap(HyperParamsYaml.readRaw(file));
  }
}
