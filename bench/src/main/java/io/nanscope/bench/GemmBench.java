package io.nanscope.bench;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Tensor;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Question: how long does {@code Kernels.matmulNT} (c = a·bᵀ, the linear layer x·Wᵀ with FP32
 * accumulation) take at square sizes and at Llama-2-7B MLP shapes, with FP32 or 16-bit weights b,
 * on 1 and 2 threads? GFLOP/s = 2·M·N·K / time; {@code scripts/bench-gemm.sh} prints it next to
 * numpy/OpenBLAS sgemm measured in the same run.
 *
 * <p>{@code shape} is {@code MxNxK}: a (M, K) FP32 activations, b (N, K) weights in {@code
 * weights}. Llama-2-7B: gate/up_proj are T×11008×4096, down_proj T×4096×11008.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g"})
public class GemmBench {

  @Param({
    "512x512x512",
    "1024x1024x1024",
    "2048x2048x2048",
    "64x11008x4096",
    "512x11008x4096",
    "512x4096x11008"
  })
  public String shape;

  @Param({"fp32", "bf16", "fp16"})
  public String weights;

  @Param({"1", "2"})
  public int threads;

  Tensor a;
  Tensor b;
  float[] c;

  @Setup
  public void setUp() {
    String[] d = shape.split("x");
    int m = Integer.parseInt(d[0]), n = Integer.parseInt(d[1]), k = Integer.parseInt(d[2]);
    a = BenchData.random(FloatFormat.FP32, m, k, 1);
    b = BenchData.random(BenchData.format(weights), n, k, 2);
    c = new float[m * n];
  }

  @Benchmark
  public float[] matmulNT() {
    Kernels.matmulNT(a, b, c, threads);
    return c;
  }
}
