package io.nanscope.report;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test paths: the repository root is the nearest ancestor of the working directory holding mvnw.
 */
final class RepoPaths {

  private RepoPaths() {}

  static Path inRepo(String relative) {
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("mvnw"))) {
        return p.resolve(relative);
      }
    }
    throw new IllegalStateException("no directory containing mvnw above " + dir);
  }
}
