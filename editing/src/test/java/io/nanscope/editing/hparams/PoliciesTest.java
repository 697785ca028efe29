package io.nanscope.editing.hparams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.editing.RepoPaths;
import io.nanscope.engine.op.PrecisionPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PoliciesTest {

  private static final Path HOME = RepoPaths.root();

  @Test
  void builtInNamesFilesAndNamesOfFilesResolveAlike() throws Exception {
    assertThat(Policies.resolve("pytorch-fp16", HOME).name())
        .isEqualTo(PrecisionPolicy.named("pytorch-fp16").name());
    PrecisionPolicy byName = Policies.resolve("fp16-down-proj-fp32", HOME);
    PrecisionPolicy byFile =
        Policies.resolve(
            HOME.resolve("configs/precision/fp16-down-proj-fp32.yaml").toString(),
            Path.of("/nonexistent"));
    assertThat(byName.name()).isEqualTo("fp16-down-proj-fp32");
    assertThat(byFile.describe()).isEqualTo(byName.describe());
  }

  @Test
  void anUnknownValueNamesWhatIsAccepted(@TempDir Path dir) throws Exception {
    assertThatThrownBy(() -> Policies.resolve("fp17", HOME))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown precision policy 'fp17'")
        .hasMessageContaining("pytorch-fp16")
        .hasMessageContaining("configs/precision/");
    Files.createDirectories(dir.resolve(Policies.DIRECTORY));
    assertThatThrownBy(() -> Policies.resolve("fp16-down-proj-fp32", dir))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown precision policy");
  }
}
