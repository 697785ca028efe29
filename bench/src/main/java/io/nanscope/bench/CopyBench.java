package io.nanscope.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Question: how fast does the JVM copy a block of memory the size of a Llama-2-7B MLP weight (the
 * bandwidth ceiling {@link MatVecBench} is compared with)? GB/s = bytes / time (bytes read; as many
 * are written). One thread: {@link MemorySegment#copy} is a single-threaded memmove.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class CopyBench {

  /** Bytes: 4096·11008·2 (a BF16/FP16 matrix) and ·4 (FP32). */
  @Param({"90177536", "180355072"})
  public long bytes;

  Arena arena;
  MemorySegment src;
  MemorySegment dst;

  @Setup
  public void setUp() {
    arena = Arena.ofShared();
    src = arena.allocate(bytes, 64);
    dst = arena.allocate(bytes, 64);
    for (long i = 0; i < bytes; i += 4096) {
      src.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) i);
    }
  }

  @TearDown
  public void tearDown() {
    arena.close();
  }

  @Benchmark
  public MemorySegment copy() {
    MemorySegment.copy(src, 0, dst, 0, bytes);
    return dst;
  }
}
