package io.nanscope.bench;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.SplittableRandom;

/** Seeded benchmark inputs (uniform in [−1, 1), rounded to the format). */
final class BenchData {

  private BenchData() {}

  static FloatFormat format(String name) {
    return switch (name) {
      case "fp32" -> FloatFormat.FP32;
      case "fp16" -> FloatFormat.FP16;
      case "bf16" -> FloatFormat.BF16;
      default ->
          throw new IllegalArgumentException("format must be fp32, fp16 or bf16, got " + name);
    };
  }

  static Tensor random(FloatFormat f, int rows, int cols, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    Tensor t = Tensor.zeros(f, Shape.of(rows, cols));
    long n = t.size();
    for (long i = 0; i < n; i++) {
      t.set(i, (float) rnd.nextDouble(-1, 1));
    }
    return t;
  }
}
