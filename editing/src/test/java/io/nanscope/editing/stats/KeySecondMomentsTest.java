package io.nanscope.editing.stats;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class KeySecondMomentsTest {

  /** {@code --model x/..} used to name the cache folder "..", one level above stats_dir. */
  @Test
  void theCacheFolderIsNamedAfterTheNormalisedModelPath() {
    assertThat(KeySecondMoments.folderName(Path.of("models/stories260K"))).isEqualTo("stories260K");
    assertThat(KeySecondMoments.folderName(Path.of("models/stories260K/x/..")))
        .isEqualTo("stories260K");
    assertThat(KeySecondMoments.folderName(Path.of("models/stories260K/stories260K.bin")))
        .isEqualTo("stories260K.bin");
    assertThat(KeySecondMoments.folderName(Path.of("/"))).isEqualTo("model");
  }
}
