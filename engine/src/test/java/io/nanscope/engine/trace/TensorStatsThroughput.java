package io.nanscope.engine.trace;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * A rough throughput figure for TensorStats (not a JMH benchmark, not run by surefire): one
 * Llama-2-7B MLP activation, (T = 512, F = 11008), in FP32 and FP16, 5 warm-up and 5 timed passes.
 *
 * <pre>
 * ./mvnw -B -pl engine -am test-compile
 * java -cp engine/target/classes:engine/target/test-classes:$HOME/.m2/repository/org/ejml/ejml-core/0.46.1/ejml-core-0.46.1.jar \
 *   io.nanscope.engine.trace.TensorStatsThroughput
 * </pre>
 */
public final class TensorStatsThroughput {

  private TensorStatsThroughput() {}

  public static void main(String[] args) {
    SplittableRandom rnd = new SplittableRandom(1);
    Shape shape = Shape.of(512, 11008);
    int n = Math.toIntExact(shape.size());
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (rnd.nextGaussian() * 30);
    }
    for (FloatFormat f : new FloatFormat[] {FloatFormat.FP32, FloatFormat.FP16, FloatFormat.BF16}) {
      Tensor t = Tensor.of(f, shape, v);
      Tensor u = Tensor.of(FloatFormat.FP32, shape, v);
      long sink = 0;
      for (int k = 0; k < 5; k++) {
        sink += TensorStats.of(t, u).subnormal() + TensorStats.of(t).zero();
      }
      long t0 = System.nanoTime();
      for (int k = 0; k < 5; k++) {
        sink += TensorStats.of(t).subnormal();
      }
      long t1 = System.nanoTime();
      for (int k = 0; k < 5; k++) {
        sink += TensorStats.of(t, u).subnormal();
      }
      long t2 = System.nanoTime();
      System.out.printf(
          "%s (512, 11008): stats %.0f M elem/s, with unrounded %.0f M elem/s (sink %d)%n",
          f.name(), 5.0 * n / ((t1 - t0) / 1e3), 5.0 * n / ((t2 - t1) / 1e3), sink);
    }
  }
}
