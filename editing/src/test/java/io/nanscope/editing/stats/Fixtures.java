package io.nanscope.editing.stats;

import io.nanscope.editing.RepoPaths;
import java.nio.file.Path;

/**
 * The numpy fixtures of scripts/editing/npz_fixtures.py (committed under src/test/resources/stats).
 */
final class Fixtures {

  private Fixtures() {}

  static Path stats(String name) {
    return RepoPaths.inRepo("editing/src/test/resources/stats/" + name);
  }
}
