package io.nanscope.bench;

import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Question: how long does one {@code Kernels.matmulNT} call take on ONE thread, in thread CPU time
 * (what the calling thread actually ran, so other processes on a shared machine slow it much less
 * than wall clock)? The JMH classes answer the wall-clock question; this one is compared by {@code
 * scripts/bench-gemm.sh cputime} with numpy/OpenBLAS under {@code time.process_time()} with one
 * BLAS thread, measured in the same run.
 *
 * <p>Not JMH (JMH has no thread-CPU-time mode): warm-up calls (at least {@code --warmup} and 3 s)
 * until C2 has compiled the kernels, then {@code --reps} timed calls. Arguments: {@code --gemm
 * MxNxK... --matvec NxK... --copy BYTES... --weights fp32,bf16,fp16 --threads 1,2 --reps R --warmup
 * W}. With more than one thread the time is the sum of all threads' CPU time (work done, not
 * speed-up). Prints one JSON line per case: {@code {"kind": "sgemm-cpu" | "matvec-cpu" |
 * "copy-cpu", "shape", "weights", "threads", "seconds": [...]}}.
 */
public final class CpuTimeBench {

  private CpuTimeBench() {}

  public static void main(String[] args) {
    List<String> gemm = new ArrayList<>();
    List<String> matvec = new ArrayList<>();
    List<String> copy = new ArrayList<>();
    String[] weights = {"fp32"};
    int[] threadCounts = {1};
    int reps = 8;
    int warmup = 3;
    List<String> current = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--gemm" -> current = gemm;
        case "--matvec" -> current = matvec;
        case "--copy" -> current = copy;
        case "--weights" -> weights = args[++i].split(",");
        case "--threads" ->
            threadCounts =
                java.util.Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
        case "--reps" -> reps = Integer.parseInt(args[++i]);
        case "--warmup" -> warmup = Integer.parseInt(args[++i]);
        default -> {
          if (current == null || args[i].startsWith("--")) {
            throw new IllegalArgumentException(
                "usage: CpuTimeBench --gemm MxNxK... --matvec NxK... --copy BYTES... --weights fp32,bf16"
                    + " --reps R --warmup W; got "
                    + args[i]);
          }
          current.add(args[i]);
        }
      }
    }
    System.out.printf(
        Locale.ROOT,
        "{\"kind\": \"info\", \"java\": \"%s\", \"width\": %d}%n",
        Runtime.version(),
        Kernels.gemmWidthBits());
    for (String bytes : copy) {
      print("copy-cpu", bytes, "-", 1, copyTime(Long.parseLong(bytes), reps, warmup));
    }
    for (int threads : threadCounts) {
      for (String w : weights) {
        for (String shape : gemm) {
          String[] d = shape.split("x");
          int m = Integer.parseInt(d[0]), n = Integer.parseInt(d[1]), k = Integer.parseInt(d[2]);
          Tensor a = BenchData.random(BenchData.format("fp32"), m, k, 1);
          Tensor b = BenchData.random(BenchData.format(w), n, k, 2);
          print(
              "sgemm-cpu", shape, w, threads, time(a, b, new float[m * n], threads, reps, warmup));
        }
        for (String shape : matvec) {
          String[] d = shape.split("x");
          int n = Integer.parseInt(d[0]), k = Integer.parseInt(d[1]);
          Tensor x = BenchData.random(BenchData.format("fp32"), 1, k, 3);
          Tensor b = BenchData.random(BenchData.format(w), n, k, 4);
          print("matvec-cpu", shape, w, threads, time(x, b, new float[n], threads, reps, warmup));
        }
      }
    }
  }

  /**
   * CPU seconds of each of {@code reps} calls after the warm-up: the calling thread's CPU time for
   * one thread, the sum over all the JVM's threads (the workers; JIT and GC are quiet by then) for
   * more.
   */
  static double[] time(Tensor a, Tensor b, float[] c, int threads, int reps, int warmup) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    java.util.function.LongSupplier cpu =
        threads == 1 ? mx::getCurrentThreadCpuTime : () -> allThreadsCpuTime(mx);
    // At least `warmup` calls and 3 s: with 4 calls of a 1024³ GEMM (~0.1 s) C2 had not reached its
    // final code yet (median 74 GFLOP/s against 81 after 30 calls, same minutes).
    long until = System.nanoTime() + 3_000_000_000L;
    for (int i = 0; i < warmup || System.nanoTime() < until; i++) {
      Kernels.matmulNT(a, b, c, threads);
    }
    double[] s = new double[reps];
    for (int i = 0; i < reps; i++) {
      long t0 = cpu.getAsLong();
      Kernels.matmulNT(a, b, c, threads);
      s[i] = (cpu.getAsLong() - t0) * 1e-9;
    }
    return s;
  }

  /**
   * CPU nanoseconds of every live thread of the JVM (the process's, at thread-clock resolution).
   */
  private static long allThreadsCpuTime(ThreadMXBean mx) {
    long sum = 0;
    for (long t : ((com.sun.management.ThreadMXBean) mx).getThreadCpuTime(mx.getAllThreadIds())) {
      sum += Math.max(0, t);
    }
    return sum;
  }

  /**
   * Thread CPU seconds of {@link MemorySegment#copy} of {@code bytes} (the {@link CopyBench} copy).
   */
  static double[] copyTime(long bytes, int reps, int warmup) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment src = arena.allocate(bytes, 64);
      MemorySegment dst = arena.allocate(bytes, 64);
      src.fill((byte) 1);
      for (int i = 0; i < warmup; i++) {
        MemorySegment.copy(src, 0, dst, 0, bytes);
      }
      double[] s = new double[reps];
      for (int i = 0; i < reps; i++) {
        long t0 = mx.getCurrentThreadCpuTime();
        MemorySegment.copy(src, 0, dst, 0, bytes);
        s[i] = (mx.getCurrentThreadCpuTime() - t0) * 1e-9;
      }
      return s;
    }
  }

  private static void print(
      String kind, String shape, String weights, int threads, double[] seconds) {
    StringBuilder sb = new StringBuilder();
    for (double v : seconds) {
      sb.append(sb.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.6f", v));
    }
    System.out.printf(
        Locale.ROOT,
        "{\"kind\": \"%s\", \"shape\": \"%s\", \"weights\": \"%s\", \"threads\": %d, \"seconds\": [%s]}%n",
        kind,
        shape,
        weights,
        threads,
        sb);
  }
}
