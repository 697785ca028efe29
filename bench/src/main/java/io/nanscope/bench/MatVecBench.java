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
 * Question: what weight bandwidth does the decode path (M = 1, {@code Kernels.matmulNT} streaming W
 * from its storage) reach with FP32, BF16 and FP16 weights, on 1 and 2 threads? GB/s = bytes of W /
 * time, compared by {@code scripts/bench-gemm.sh} with {@link CopyBench} (same bytes).
 *
 * <p>{@code shape} is {@code NxK}: W (N, K), x (1, K). Llama-2-7B: 11008×4096 (gate/up_proj),
 * 4096×11008 (down_proj).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class MatVecBench {

  @Param({"4096x11008", "11008x4096"})
  public String shape;

  @Param({"bf16", "fp16", "fp32"})
  public String weights;

  @Param({"1", "2"})
  public int threads;

  Tensor x;
  Tensor w;
  float[] y;

  @Setup
  public void setUp() {
    String[] d = shape.split("x");
    int n = Integer.parseInt(d[0]), k = Integer.parseInt(d[1]);
    x = BenchData.random(FloatFormat.FP32, 1, k, 3);
    w = BenchData.random(BenchData.format(weights), n, k, 4);
    y = new float[n];
  }

  @Benchmark
  public float[] matvec() {
    Kernels.matmulNT(x, w, y, threads);
    return y;
  }
}
