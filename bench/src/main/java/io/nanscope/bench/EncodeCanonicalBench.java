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
 * Question: what does a traced op's 16-bit output cost with the fused encoder ({@link
 * FloatFormat#encode16Canonical}: the output encoded and the source's NaNs made canonical, so the
 * source itself becomes the unrounded FP32 tensor) against what Emit did before (clone the values,
 * canonicalise the clone's NaNs in a pass of its own, then encode)? Both include allocating the
 * 16-bit output; n = 256 × 172, an MLP activation of the stories260K forward.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx1g"})
public class EncodeCanonicalBench {

  @Param({"44032"})
  public int n;

  @Param({"fp16", "bf16"})
  public String format;

  FloatFormat f;
  float[] values;

  @Setup(Level.Trial)
  public void setUp() {
    SplittableRandom rnd = new SplittableRandom(5);
    values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = (float) Math.scalb(rnd.nextDouble(-2, 2), rnd.nextInt(-20, 10));
    }
    f = FloatFormat.parse(format);
  }

  @Benchmark
  public short[] fused() {
    short[] out = new short[n];
    f.encode16Canonical(values, 0, out, 0, n); // no NaN: values are left as they are
    return out;
  }

  @Benchmark
  public Object cloneThenEncode() {
    float[] u = values.clone();
    FloatFormat.FP32.roundInPlace(u, 0, n); // the NaN pass Emit made over the copy
    short[] out = new short[n];
    f.encode16(values, 0, out, 0, n);
    return new Object[] {u, out};
  }
}
