package io.nanscope.llama.weights;

import io.nanscope.engine.io.AtomicFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Creates an output directory all at once: files are written into a hidden sibling {@code
 * .NAME.partial-PID} that is renamed to {@code NAME} only when everything succeeded; on failure it
 * is deleted. So a failed {@code convert} or {@code synth} leaves nothing half-written. Each file
 * inside is written with {@link AtomicFile} (fsync'd); the parent directory is fsync'd after the
 * rename.
 */
public final class StagedDirectory {

  /** Writes the contents of the staging directory it is given. */
  @FunctionalInterface
  public interface Writer {
    void writeInto(Path staging) throws IOException;
  }

  private StagedDirectory() {}

  /**
   * Runs {@code writer} on a fresh staging directory, then renames it to {@code out}. {@code out}
   * must not exist, or be an empty directory.
   */
  public static void create(Path out, Writer writer) throws IOException {
    Path target = out.toAbsolutePath().normalize();
    if (Files.exists(target)) {
      if (!Files.isDirectory(target)) {
        throw new IllegalArgumentException(
            out + " exists and is not a directory; choose another output directory");
      }
      try (Stream<Path> s = Files.list(target)) {
        if (s.findAny().isPresent()) {
          throw new IllegalArgumentException(
              out
                  + " already exists and is not empty; choose a new output"
                  + " directory or remove it");
        }
      }
    }
    Path parent = target.getParent();
    Files.createDirectories(parent);
    Path staging =
        parent.resolve("." + target.getFileName() + ".partial-" + ProcessHandle.current().pid());
    deleteRecursively(staging);
    Files.createDirectory(staging);
    try {
      writer.writeInto(staging);
      if (Files.exists(target)) {
        Files.delete(target); // empty, checked above
      }
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      AtomicFile.syncDirectory(parent); // the rename survives a crash
    } catch (IOException | RuntimeException | Error e) {
      try {
        deleteRecursively(staging);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(q);
      }
    }
  }
}
