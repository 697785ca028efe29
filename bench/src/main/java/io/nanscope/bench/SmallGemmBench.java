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
 * Question: how long does {@code Kernels.matmulNT} take at stories260K's shapes (C = 64, F = 172, a
 * 20-token prompt; M×N×K), where the packing, K blocks and task split meant for 7B cost more than
 * the arithmetic? {@code 1x512x64} is a matrix-vector product of that size (the output layer,
 * vocabulary 512). The same body as {@link GemmBench} (which an older build can run with {@code -p
 * shape=20x64x64} for a before/after).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx1g"})
public class SmallGemmBench {

  @Param({"20x64x64", "20x172x64", "20x64x172", "1x512x64"})
  public String shape;

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
    b = BenchData.random(FloatFormat.FP32, n, k, 2);
    c = new float[m * n];
  }

  @Benchmark
  public float[] matmulNT() {
    Kernels.matmulNT(a, b, c, threads);
    return c;
  }
}
