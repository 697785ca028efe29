package io.nanscope.bench;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.TensorStats;
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
 * Question: what does the stats tracer's per-record pass ({@link TensorStats#of(Tensor, Tensor)}:
 * counts, extremes, overflow/underflow against the unrounded FP32 copy) cost per element, for an
 * FP16 and an FP32 op output of n = 256·172 elements? Compare with {@code copy} (one FP32 memcpy of
 * the same tensor) for scale: the stats pass runs once per traced op, so its cost next to the op's
 * own is what "stats mode ≤ 1.10× tracer-off" is about.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx1g"})
public class StatsCensusBench {

  @Param({"44032"})
  public int n;

  @Param({"fp16", "fp32"})
  public String format;

  /**
   * {@code wide}: magnitudes 2^−30…2^18 (FP16 overflows and flushes in every block: the rare-value
   * pass); {@code finite}: 2^−30…2^14 (every value within FP16's range, as in a run without
   * overflow: the common pass).
   */
  @Param({"wide", "finite"})
  public String range;

  Tensor out;
  Tensor unrounded;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom rnd = new SplittableRandom(9);
    float[] u = new float[n];
    for (int i = 0; i < n; i++) {
      u[i] =
          (float)
              Math.scalb(rnd.nextDouble(-2, 2), rnd.nextInt(-30, range.equals("wide") ? 18 : 14));
    }
    FloatFormat f = FloatFormat.parse(format);
    unrounded = Tensor.of(FloatFormat.FP32, Shape.of(n), u);
    out = Tensor.of(f, Shape.of(n), u);
  }

  @Benchmark
  public TensorStats stats() {
    return TensorStats.of(out, format.equals("fp32") ? null : unrounded);
  }

  @Benchmark
  public Tensor copy() {
    return unrounded.copy();
  }
}
