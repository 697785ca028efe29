package io.nanscope.cli.fuzz;

import io.nanscope.cli.Main;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The contract every reader of a stranger's file keeps, checked on each fuzz input: it returns a
 * result or throws an exception the CLI reports as bad input ({@link Main#isBadInput}: one line on
 * stderr, exit 2) with a message; nothing else escapes, and the heap it allocates stays within a
 * bound proportional to the input's size ({@link #allocationBound}).
 */
public final class InputContract {

  /** A reader under test. */
  @FunctionalInterface
  public interface Reader {
    void read(Path dir) throws Exception;
  }

  private InputContract() {}

  /**
   * Bytes a reader may allocate for an input of {@code n} bytes: parse trees, vocabularies, copies.
   */
  public static long allocationBound(long n) {
    return 256L * n + 64L * 1024 * 1024;
  }

  /**
   * Runs {@code reader} on a fresh temporary directory prepared by {@code setup} and checks the
   * contract; {@code inputBytes} is the total size of what setup wrote.
   */
  public static void check(long inputBytes, Reader setup, Reader reader) {
    Path dir;
    try {
      dir = Files.createTempDirectory("nanscope-fuzz");
      setup.read(dir);
    } catch (Exception e) {
      throw new AssertionError("fuzz setup failed", e);
    }
    try {
      readOnce(
          reader, dir); // first call: class initialisation and linking are not the input's cost
      long before = allocatedBytes();
      readOnce(reader, dir);
      long allocated = allocatedBytes() - before;
      if (allocated > allocationBound(inputBytes)) {
        throw new AssertionError(
            "allocated "
                + allocated
                + " bytes for a "
                + inputBytes
                + "-byte input (bound "
                + allocationBound(inputBytes)
                + ")");
      }
    } finally {
      deleteTree(dir);
    }
  }

  private static void readOnce(Reader reader, Path dir) {
    try {
      reader.read(dir);
    } catch (Exception e) {
      if (!Main.isBadInput(e)) {
        throw new AssertionError("a reader let " + e.getClass().getName() + " escape: " + e, e);
      }
      // the CLI prints the message on one line (control characters escaped): it must say something
      if (e.getMessage() == null || e.getMessage().isBlank()) {
        throw new AssertionError("a bad-input exception without a message", e);
      }
    } catch (StackOverflowError | OutOfMemoryError e) {
      throw new AssertionError("a reader let " + e.getClass().getName() + " escape: " + e, e);
    }
  }

  private static final Object THREAD_MX;
  private static final Method ALLOCATED;

  static {
    // reflection: the test classes compile inside the module, which does not read jdk.management
    try {
      THREAD_MX =
          Class.forName("java.lang.management.ManagementFactory")
              .getMethod("getThreadMXBean")
              .invoke(null);
      ALLOCATED =
          Class.forName("com.sun.management.ThreadMXBean")
              .getMethod("getCurrentThreadAllocatedBytes");
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** Heap bytes this thread has allocated so far. */
  private static long allocatedBytes() {
    try {
      return (long) ALLOCATED.invoke(THREAD_MX);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void deleteTree(Path dir) {
    try (var s = Files.walk(dir)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp dir left behind is not a test failure
    }
  }
}
