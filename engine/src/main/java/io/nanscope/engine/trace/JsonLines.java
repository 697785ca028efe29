package io.nanscope.engine.trace;

import io.nanscope.engine.io.AtomicFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** JSON Lines files (one JSON object per line, UTF-8, {@code \n}), written atomically. */
public final class JsonLines {

  private JsonLines() {}

  /**
   * Writes one line per element ({@code toString()}, normally a {@link Json}) to {@code file},
   * through a temporary file and an atomic rename. Throws {@link java.io.UncheckedIOException}
   * naming the file on failure.
   */
  public static void write(Path file, List<?> lines) {
    AtomicFile.write(
        file,
        out -> {
          for (Object line : lines) {
            out.write(line.toString().getBytes(StandardCharsets.UTF_8));
            out.write('\n');
          }
        });
  }
}
