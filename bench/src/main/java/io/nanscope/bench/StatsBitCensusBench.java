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
 * Question: what does the stats tracer's pass cost per element when every block is common (the bit
 * census: {@code StatsKernels.census16} on the stored FP16/BF16 bits with their FP32 unrounded
 * values, {@code census32} on FP32 storage), against the decoding census the same tensor takes when
 * its blocks are not common ({@link TensorStats} falls back to it per block; {@code decoded} forces
 * it by one NaN per 4096-element block, so the remaining values are the same)? n = 8 heads × 256 ×
 * 256, the size of one layer's attention P in the stories260K forward (2 MB of FP32 plus its stored
 * copy: past L2 here, as a record's pass meets it).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx1g"})
public class StatsBitCensusBench {

  @Param({"524288"})
  public int n;

  @Param({"fp16", "bf16", "fp32"})
  public String format;

  Tensor out;
  Tensor unrounded;
  Tensor outRare;
  Tensor unroundedRare;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom rnd = new SplittableRandom(3);
    float[] u = new float[n];
    for (int i = 0; i < n; i++) {
      // P-like: a third zeros (the masked triangle), the rest probabilities down to subnormals
      u[i] = rnd.nextInt(3) == 0 ? 0f : (float) Math.scalb(rnd.nextDouble(1, 2), -rnd.nextInt(30));
    }
    float[] rare = u.clone();
    for (int i = 0; i < n; i += 4096) {
      rare[i] = Float.NaN;
    }
    FloatFormat f = FloatFormat.parse(format);
    boolean withU = f != FloatFormat.FP32;
    unrounded = withU ? Tensor.of(FloatFormat.FP32, Shape.of(n), u) : null;
    out = Tensor.of(f, Shape.of(n), u);
    unroundedRare = withU ? Tensor.of(FloatFormat.FP32, Shape.of(n), rare) : null;
    outRare = Tensor.of(f, Shape.of(n), rare);
  }

  @Benchmark
  public TensorStats bits() {
    return TensorStats.of(out, unrounded);
  }

  @Benchmark
  public TensorStats decoded() {
    return TensorStats.of(outRare, unroundedRare);
  }
}
