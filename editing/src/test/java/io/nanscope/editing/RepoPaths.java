package io.nanscope.editing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test paths: the repository root is the nearest ancestor of the working directory holding mvnw.
 */
public final class RepoPaths {

  private RepoPaths() {}

  public static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("mvnw"))) {
        return p;
      }
    }
    throw new IllegalStateException("no directory containing mvnw above " + dir);
  }

  /** A file of the shared data folder that sits beside the repository ({@code ../shared/data}). */
  public static Path sharedData(String relative) {
    return root().resolve("../shared/data").resolve(relative).normalize();
  }

  public static Path inRepo(String relative) {
    return root().resolve(relative);
  }
}
