package io.nanscope.engine.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFileTest {

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void everyFormWritesTheWholeFileAndLeavesNoTemporaryFile(@TempDir Path dir) throws IOException {
    byte[] big = new byte[(1 << 20) + 7]; // larger than the 64 KiB stream buffer, odd tail
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) (i * 31 + 7);
    }
    AtomicFile.write(dir.resolve("a.bin"), big);
    AtomicFile.write(dir.resolve("b.txt"), "héllo\n");
    AtomicFile.write(
        dir.resolve("c.bin"),
        out -> {
          out.write(big, 0, 3);
          out.write(big, 3, big.length - 3);
        });
    AtomicFile.writeChannel(
        dir.resolve("d.bin"), ch -> AtomicFile.writeFully(ch, ByteBuffer.wrap(big)));
    AtomicFile.write(dir.resolve("sub/dir/e.txt"), "x");
    assertThat(Files.readAllBytes(dir.resolve("a.bin"))).isEqualTo(big);
    assertThat(Files.readString(dir.resolve("b.txt"))).isEqualTo("héllo\n");
    assertThat(Files.readAllBytes(dir.resolve("c.bin"))).isEqualTo(big);
    assertThat(Files.readAllBytes(dir.resolve("d.bin"))).isEqualTo(big);
    assertThat(Files.readString(dir.resolve("sub/dir/e.txt"))).isEqualTo("x");
    assertThat(names(dir)).containsExactly("a.bin", "b.txt", "c.bin", "d.bin", "sub");
  }

  @Test
  void replacesAnExistingFileWithDefaultPermissionsNotTempFile0600(@TempDir Path dir)
      throws IOException {
    Path f = dir.resolve("r.txt");
    AtomicFile.write(f, "old");
    AtomicFile.write(f, "new");
    assertThat(Files.readString(f)).isEqualTo("new");
    assertThat(names(dir)).containsExactly("r.txt");
    if (Files.getFileStore(f).supportsFileAttributeView("posix")) {
      // createTempFile would give rw------- ; the writer must not narrow the umask's permissions
      assertThat(Files.getPosixFilePermissions(f)).contains(PosixFilePermission.OWNER_READ);
      Path plain = Files.writeString(dir.resolve("plain.txt"), "p");
      assertThat(Files.getPosixFilePermissions(f)).isEqualTo(Files.getPosixFilePermissions(plain));
    }
  }

  @Test
  void aFailingBodyKeepsTheOldFileAndLeavesNothingElse(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("keep.txt");
    AtomicFile.write(f, "old");
    assertThatThrownBy(() ->
            AtomicFile.write(
                f,
                out -> {
                  out.write(new byte[100_000]);
                  throw new IOException("disk full");
                }))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining(f.toString())
        .hasMessageContaining("disk full");
    assertThatThrownBy(() ->
            AtomicFile.write(
                f,
                out -> {
                  out.write(1);
                  throw new IllegalStateException("bad tensor");
                }))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("bad tensor");
    assertThat(Files.readString(f)).isEqualTo("old");
    assertThat(names(dir)).containsExactly("keep.txt");
  }

  @Test
  void aTargetThatCannotBeWrittenIsNamed(@TempDir Path dir) throws IOException {
    Path blocker = Files.writeString(dir.resolve("blocker"), "a file, not a directory");
    Path f = blocker.resolve("x.txt");
    assertThatThrownBy(() -> AtomicFile.write(f, "x"))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageStartingWith("could not write " + f);
    // a directory in the target's place cannot be replaced by a file
    Path d = Files.createDirectory(dir.resolve("d"));
    Files.writeString(d.resolve("inside"), "i");
    assertThatThrownBy(() -> AtomicFile.write(d, "x")).isInstanceOf(UncheckedIOException.class);
    assertThat(names(dir)).containsExactly("blocker", "d");
    assertThat(Arrays.asList(d.toFile().list())).containsExactly("inside");
  }

  /**
   * A writer killed by SIGKILL leaves .NAME.PID-HEX.tmp; the next write of NAME removes those of
   * processes that are gone and keeps those of live ones and names that are not ours.
   */
  @Test
  void theNextWriteRemovesTemporariesOfDeadWritersOnly(@TempDir Path dir) throws IOException {
    long self = ProcessHandle.current().pid();
    long dead = 4_000_000_000L; // above any pid_max (2^22 on Linux): no such process
    Path f = dir.resolve("r[1].txt"); // glob characters in the name
    Files.writeString(dir.resolve(".r[1].txt." + dead + "-ab.tmp"), "half");
    Files.writeString(dir.resolve(".r[1].txt." + self + "-cd.tmp"), "live");
    Files.writeString(dir.resolve(".r[1].txt.x1-ef.tmp"), "not ours");
    Files.writeString(dir.resolve(".other.txt." + dead + "-ab.tmp"), "another name");
    AtomicFile.write(f, "new");
    assertThat(names(dir))
        .containsExactlyInAnyOrder(
            "r[1].txt",
            ".r[1].txt." + self + "-cd.tmp",
            ".r[1].txt.x1-ef.tmp",
            ".other.txt." + dead + "-ab.tmp");
    assertThat(AtomicFile.isStale(Long.toString(dead))).isTrue();
    assertThat(AtomicFile.isStale(Long.toString(self))).isFalse();
    assertThat(AtomicFile.isStale("12a")).isFalse();
  }
}
