package io.nanscope.bench;

import io.nanscope.engine.format.FloatFormat;
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
 * Question: how close to memory-copy speed is bulk FP32 → FP16/BF16 rounding (the vector kernels
 * behind {@link FloatFormat#encode16(float[], int, short[], int, int)} and {@link
 * FloatFormat#roundInPlace(float[], int, int)}), and how does it compare with a plain {@link
 * Float#floatToFloat16} loop (a HotSpot intrinsic that C2 auto-vectorises)?
 *
 * <p>One op = one pass over {@code n} elements; elements/s = ops/s · n. Traffic per element: encode
 * reads 4 B and writes 2 B; round-in-place and {@link #copy} read 4 B and write 4 B, so
 * round-in-place vs copy is the like-for-like bandwidth ratio. Sizes: 4096 (16 KB, in L1/L2) and
 * 16M (64 MB of FP32 input, twice the 32 MB L3 here). Run with {@code scripts/bench-rounding.sh},
 * which prints medians, ranges, elements/s and GB/s.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g", "-XX:+UseParallelGC"})
public class RoundingBench {

  @Param({"4096", "16777216"})
  public int n;

  /**
   * Input values: random magnitudes over FP16's range and beyond, both signs (non-final: JMH sample
   * 10).
   */
  public float[] src;

  public short[] dst16;
  public float[] dst32;
  public float[] work;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom rnd = new SplittableRandom(42);
    src = new float[n];
    for (int i = 0; i < n; i++) {
      src[i] = (float) Math.scalb(rnd.nextDouble(-2, 2), rnd.nextInt(-30, 20));
    }
    dst16 = new short[n];
    dst32 = new float[n];
    work = src.clone();
  }

  /** Baseline: 4 B read + 4 B written per element. */
  @Benchmark
  public float[] copy() {
    System.arraycopy(src, 0, dst32, 0, n);
    return dst32;
  }

  @Benchmark
  public short[] fp16Encode() {
    FloatFormat.FP16.encode16(src, 0, dst16, 0, n);
    return dst16;
  }

  @Benchmark
  public short[] bf16Encode() {
    FloatFormat.BF16.encode16(src, 0, dst16, 0, n);
    return dst16;
  }

  /** The JDK reference loop (no NaN canonicalisation, so slightly less work than ours). */
  @Benchmark
  public short[] fp16EncodeJdkLoop() {
    float[] s = src;
    short[] d = dst16;
    for (int i = 0; i < n; i++) {
      d[i] = Float.floatToFloat16(s[i]);
    }
    return d;
  }

  /**
   * FP32 → FP16 → FP32 in place over {@code work}: same traffic as {@link #copy}. After the first
   * pass the data is already rounded; the kernels are branch-free, so that does not change the
   * cost.
   */
  @Benchmark
  public float[] fp16RoundInPlace() {
    FloatFormat.FP16.roundInPlace(work, 0, n);
    return work;
  }

  @Benchmark
  public float[] bf16RoundInPlace() {
    FloatFormat.BF16.roundInPlace(work, 0, n);
    return work;
  }

  /** The JDK reference for {@link #fp16RoundInPlace}: {@code float16ToFloat(floatToFloat16(x))}. */
  @Benchmark
  public float[] fp16RoundInPlaceJdkLoop() {
    float[] w = work;
    for (int i = 0; i < n; i++) {
      w[i] = Float.float16ToFloat(Float.floatToFloat16(w[i]));
    }
    return w;
  }
}
