package io.nanscope.llama;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where tests find data: the repository root is the nearest directory above the working directory
 * that holds {@code mvnw}; the shared data folder is {@code ../shared} beside it (CI clones it
 * there).
 */
public final class TestPaths {

  private TestPaths() {}

  public static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    for (Path q = p; q != null; q = q.getParent()) {
      if (Files.isRegularFile(q.resolve("mvnw"))) {
        return q;
      }
    }
    throw new IllegalStateException("no directory with mvnw above " + p);
  }

  public static Path shared() {
    return repoRoot().resolve("../shared").normalize();
  }

  public static Path stories260K() {
    return repoRoot().resolve("models/stories260K");
  }

  public static Path llama2Tokenizer() {
    return shared().resolve("models/llama2-tokenizer");
  }
}
