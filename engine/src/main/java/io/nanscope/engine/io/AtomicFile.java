package io.nanscope.engine.io;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The one way nanscope writes a file: into a temporary sibling ({@code .NAME.PID-HEX.tmp} in the
 * same directory), {@code fsync} of that file, an atomic rename over {@code NAME}, then {@code
 * fsync} of the directory so the rename itself survives a crash. Readers see the old file or the
 * whole new one, never half of one, and a failed write leaves nothing behind (the temporary file is
 * deleted).
 *
 * <p>A process killed while writing (SIGKILL, power loss) cannot delete its temporary file. The
 * next write of the same {@code NAME} deletes every {@code .NAME.PID-*.tmp} whose process {@code
 * PID} is no longer running ({@link #isStale}); a temporary file of a live writer is never touched.
 * Readers ignore these files: they only ever open {@code NAME}.
 *
 * <p>The temporary file gets the default permissions (umask), not {@code createTempFile}'s 0600, so
 * traces and reports stay readable by others. The rename is {@link StandardCopyOption#ATOMIC_MOVE}
 * only, with no non-atomic fallback: a sibling in the same directory is on the same file system,
 * where POSIX {@code rename(2)} is atomic. A directory that cannot be opened for {@code fsync} (not
 * possible on every platform, e.g. Windows) is not an error.
 *
 * <p>Errors are {@link UncheckedIOException}s whose message names the file.
 */
public final class AtomicFile {

  private AtomicFile() {}

  /** What to write into the temporary file, as a stream (buffered; do not close it). */
  @FunctionalInterface
  public interface Body {
    void writeTo(OutputStream out) throws IOException;
  }

  /** What to write into the temporary file, through its channel (for large binary files). */
  @FunctionalInterface
  public interface ChannelBody {
    void writeTo(FileChannel channel) throws IOException;
  }

  /** Writes {@code bytes} to {@code file} atomically. */
  public static void write(Path file, byte[] bytes) {
    writeChannel(file, ch -> writeFully(ch, ByteBuffer.wrap(bytes)));
  }

  /** Writes {@code text} as UTF-8 to {@code file} atomically. */
  public static void write(Path file, String text) {
    write(file, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Writes what {@code body} produces to {@code file} atomically. */
  public static void write(Path file, Body body) {
    writeChannel(
        file,
        ch -> {
          // The channel stays open for the fsync: the stream wrapper must not close it.
          OutputStream unclosable =
              new FilterOutputStream(Channels.newOutputStream(ch)) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                  out.write(b, off, len);
                }

                @Override
                public void close() throws IOException {
                  flush();
                }
              };
          try (OutputStream out = new BufferedOutputStream(unclosable, 1 << 16)) {
            body.writeTo(out);
          }
        });
  }

  /** Writes what {@code body} puts into the channel to {@code file} atomically. */
  public static void writeChannel(Path file, ChannelBody body) {
    Path dir = file.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      Files.createDirectories(dir);
      deleteStaleTemporaries(dir, file.getFileName().toString());
      Path candidate =
          dir.resolve(
              "."
                  + file.getFileName()
                  + "."
                  + ProcessHandle.current().pid()
                  + "-"
                  + Long.toHexString(System.nanoTime())
                  + ".tmp");
      Files.createFile(candidate); // fails on a name clash: never touch another writer's file
      tmp = candidate;
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        body.writeTo(ch);
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      tmp = null;
      syncDirectory(dir);
    } catch (IOException e) {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw new UncheckedIOException("could not write " + file + ": " + e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /**
   * Deletes the temporary siblings {@code .NAME.PID-HEX.tmp} of {@code name} in {@code dir} left by
   * writers that are no longer running.
   */
  static void deleteStaleTemporaries(Path dir, String name) throws IOException {
    String prefix = "." + name + ".";
    // a filter, not a glob: the name may hold glob characters ('[', '{', '*')
    try (DirectoryStream<Path> s =
        Files.newDirectoryStream(
            dir,
            p -> {
              String n = p.getFileName().toString();
              return n.length() > prefix.length() + 4 && n.startsWith(prefix) && n.endsWith(".tmp");
            })) {
      for (Path p : s) {
        String middle = p.getFileName().toString();
        middle = middle.substring(prefix.length(), middle.length() - ".tmp".length());
        int dash = middle.indexOf('-');
        if (dash > 0 && isStale(middle.substring(0, dash))) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /**
   * Whether {@code pid} (the decimal process id in a temporary or staging name) names no running
   * process, so its file can only be the leftover of a killed writer. Not a number: not ours, not
   * stale. A reused pid keeps a leftover until that process ends (never deletes a live file).
   */
  public static boolean isStale(String pid) {
    if (!pid.matches("[0-9]{1,18}")) {
      return false;
    }
    long p = Long.parseLong(pid);
    return p != ProcessHandle.current().pid() && ProcessHandle.of(p).isEmpty();
  }

  /**
   * {@code fsync} of a directory, so that a rename in it is durable; best effort where unsupported.
   */
  public static void syncDirectory(Path dir) throws IOException {
    FileChannel d;
    try {
      d = FileChannel.open(dir, StandardOpenOption.READ);
    } catch (IOException | UnsupportedOperationException e) {
      return; // platforms that cannot open a directory (Windows) have no directory fsync
    }
    try (d) {
      d.force(true);
    }
  }

  /** Writes all of {@code b} (a channel may write less than asked). */
  public static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }
}
