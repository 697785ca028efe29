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
 * <p>Not JMH (JMH has no thread-CPU-time mode): warm-up calls until C2 has compiled the kernels,
 * then {@code --reps} timed calls. Arguments: {@code --gemm MxNxK... --matvec NxK... --copy
 * BYTES... --weights fp32,bf16,fp16 --reps R --warmup W}. Prints one JSON line per case: {@code
 * {"kind": "sgemm-cpu" | "matvec-cpu" | "copy-cpu", "shape", "weights", "threads": 1, "seconds":
 * [...]}}.
 */
public final class CpuTimeBench {

  private CpuTimeBench() {}

  public static void main(String[] args) {
    List<String> gemm = new ArrayList<>();
    List<String> matvec = new ArrayList<>();
    List<String> copy = new ArrayList<>();
    String[] weights = {"fp32"};
    int reps = 8;
    int warmup = 4;
    List<String> current = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--gemm" -> current = gemm;
        case "--matvec" -> current = matvec;
        case "--copy" -> current = copy;
        case "--weights" -> weights = args[++i].split(",");
        case "--reps" -> reps = Integer.parseInt(args[++i]);
        case "--warmup" -> warmup = Integer.parseInt(args[++i]);
        default -> {
          if (current == null || args[i].startsWith("--")) {
            throw new IllegalArgumentException(
                "usage: CpuTimeBench --gemm MxNxK... --matvec NxK... --copy BYTES... --weights fp32,bf16"
                    + " --reps R --warmup W; got " + args[i]);
          }
          current.add(args[i]);
        }
      }
    }
    for (String bytes : copy) {
      print("copy-cpu", bytes, "-", copyTime(Long.parseLong(bytes), reps, warmup));
    }
    for (String w : weights) {
      for (String shape : gemm) {
        String[] d = shape.split("x");
        int m = Integer.parseInt(d[0]), n = Integer.parseInt(d[1]), k = Integer.parseInt(d[2]);
        Tensor a = BenchData.random(BenchData.format("fp32"), m, k, 1);
        Tensor b = BenchData.random(BenchData.format(w), n, k, 2);
        print("sgemm-cpu", shape, w, time(a, b, new float[m * n], reps, warmup));
      }
      for (String shape : matvec) {
        String[] d = shape.split("x");
        int n = Integer.parseInt(d[0]), k = Integer.parseInt(d[1]);
        Tensor x = BenchData.random(BenchData.format("fp32"), 1, k, 3);
        Tensor b = BenchData.random(BenchData.format(w), n, k, 4);
        print("matvec-cpu", shape, w, time(x, b, new float[n], reps, warmup));
      }
    }
  }

  /** Thread CPU seconds of each of {@code reps} calls, after {@code warmup} untimed ones. */
  static double[] time(Tensor a, Tensor b, float[] c, int reps, int warmup) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    for (int i = 0; i < warmup; i++) {
      Kernels.matmulNT(a, b, c, 1);
    }
    double[] s = new double[reps];
    for (int i = 0; i < reps; i++) {
      long t0 = mx.getCurrentThreadCpuTime();
      Kernels.matmulNT(a, b, c, 1);
      s[i] = (mx.getCurrentThreadCpuTime() - t0) * 1e-9;
    }
    return s;
  }

  /** Thread CPU seconds of {@link MemorySegment#copy} of {@code bytes} (the {@link CopyBench} copy). */
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

  private static void print(String kind, String shape, String weights, double[] seconds) {
    StringBuilder sb = new StringBuilder();
    for (double v : seconds) {
      sb.append(sb.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.6f", v));
    }
    System.out.printf(
        Locale.ROOT,
        "{\"kind\": \"%s\", \"shape\": \"%s\", \"weights\": \"%s\", \"threads\": 1, \"seconds\": [%s]}%n",
        kind, shape, weights, sb);
  }
}
