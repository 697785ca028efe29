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
 *
 * <p>A process killed while writing leaves its {@code .NAME.partial-PID}; the next {@link #create}
 * of the same {@code NAME} deletes every such folder whose process is no longer running ({@link
 * AtomicFile#isStale}), and never one of a live process.
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
    checkTarget(out, "the output directory");
    Path target = out.toAbsolutePath().normalize();
    Path parent = target.getParent();
    Files.createDirectories(parent);
    deleteStale(parent, target.getFileName().toString());
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

  /**
   * Checks, before any work, that {@link #create} can make {@code out}: it does not exist or is an
   * empty directory, and the nearest existing ancestor is a writable directory. {@code option}
   * names the flag in the message (e.g. {@code --save}).
   *
   * @throws IllegalArgumentException saying what is wrong and what to do
   */
  public static void checkTarget(Path out, String option) throws IOException {
    Path target = out.toAbsolutePath().normalize();
    if (target.getParent() == null) {
      throw new IllegalArgumentException(option + " " + out + " is a root: choose a new directory");
    }
    if (Files.exists(target)) {
      if (!Files.isDirectory(target)) {
        throw new IllegalArgumentException(
            option + " " + out + " exists and is not a directory; choose a new output directory");
      }
      try (Stream<Path> s = Files.list(target)) {
        if (s.findAny().isPresent()) {
          throw new IllegalArgumentException(
              option
                  + " "
                  + out
                  + " already exists and is not empty; choose a new output"
                  + " directory or remove it");
        }
      }
    }
    for (Path p = target.getParent(); p != null; p = p.getParent()) {
      if (Files.exists(p)) {
        if (!Files.isDirectory(p)) {
          throw new IllegalArgumentException(option + " " + out + ": " + p + " is not a directory");
        }
        if (!Files.isWritable(p)) {
          throw new IllegalArgumentException(
              option + " " + out + ": cannot write in " + p + "; choose a writable location");
        }
        return;
      }
    }
  }

  /** Deletes {@code .NAME.partial-PID} folders in {@code parent} of writers no longer running. */
  static void deleteStale(Path parent, String name) throws IOException {
    String prefix = "." + name + ".partial-";
    try (Stream<Path> s = Files.list(parent)) {
      for (Path p : s.toList()) {
        String n = p.getFileName().toString();
        if (n.startsWith(prefix) && AtomicFile.isStale(n.substring(prefix.length()))) {
          deleteRecursively(p);
        }
      }
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
