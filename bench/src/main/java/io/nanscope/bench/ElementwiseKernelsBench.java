package io.nanscope.bench;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.ElementwiseKernels;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Question: what does the float path of an element-wise op with FP16 output cost per element, next
 * to the double path it replaced? One op = SwiGLU's arithmetic on n = T·F = 256·172 elements
 * (stories260K's MLP at 256 tokens): silu(g) rounded to FP16, times u, rounded to FP16. {@code
 * vector}: {@link ElementwiseKernels} plus the bulk FP16 rounding; {@code scalar}: the kernels'
 * scalar twins plus the same rounding; {@code doubles}: the old loop (values widened to double,
 * each step rounded with a cast to float and {@link FloatFormat#round(float)}, as {@code
 * Precision.round} does for float values). All three give the same bits (FloatPathTest).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx1g"})
public class ElementwiseKernelsBench {

  @Param({"44032"})
  public int n;

  @Param({"vector", "scalar", "doubles"})
  public String path;

  float[] g;
  float[] u;
  float[] out;
  float[] scratch;
  double[] gd;
  double[] ud;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom rnd = new SplittableRandom(3);
    g = new float[n];
    u = new float[n];
    for (int i = 0; i < n; i++) {
      g[i] = (float) rnd.nextGaussian() * 4;
      u[i] = (float) rnd.nextGaussian() * 4;
    }
    out = new float[n];
    scratch = new float[n];
    gd = new double[n];
    ud = new double[n];
  }

  @Benchmark
  public float swiglu() {
    FloatFormat f16 = FloatFormat.FP16;
    switch (path) {
      case "vector" -> {
        ElementwiseKernels.silu(g, 0, out, 0, n, scratch);
        f16.roundInPlace(out, 0, n);
        ElementwiseKernels.mul(out, 0, u, 0, out, 0, n);
        f16.roundInPlace(out, 0, n);
      }
      case "scalar" -> {
        ElementwiseKernels.siluScalar(g, 0, out, 0, n);
        f16.roundInPlace(out, 0, n);
        ElementwiseKernels.mulScalar(out, 0, u, 0, out, 0, n);
        f16.roundInPlace(out, 0, n);
      }
      default -> {
        for (int i = 0; i < n; i++) {
          gd[i] = g[i];
          ud[i] = u[i];
        }
        for (int i = 0; i < n; i++) {
          double x = gd[i];
          double e = (float) Math.exp(-x);
          double d = (float) (1.0 + e);
          double s =
              f16.round((float) (x / d)); // Precision.round: a float goes through round(float)
          gd[i] = f16.round((float) (s * ud[i]));
        }
        for (int i = 0; i < n; i++) {
          out[i] = (float) gd[i];
        }
      }
    }
    return out[n - 1];
  }
}
