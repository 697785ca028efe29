package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Bit-identical results with 1 and 2 threads, forward and backward (docs/architecture.md, design
 * rules).
 */
class DeterminismTest {

  private static final Site S = Site.of("det");

  private static int[] bits(Tensor t) {
    int[] b = new int[Math.toIntExact(t.size())];
    for (int i = 0; i < b.length; i++) {
      b[i] = Float.floatToRawIntBits(t.get(i));
    }
    return b;
  }

  /** A block's worth of ops on the tape; returns [output, dX, dW] for the given thread count. */
  private static List<Tensor> run(int threads, Precision p, Tensor x, Tensor w, Tensor w2) {
    OpContext ctx = OpContext.DEFAULT.withThreads(threads);
    Tape tape = new Tape();
    Var xv = tape.param(x, "x"), wv = tape.param(w, "w");
    Var y = MatMul.apply(tape, ctx, S, p, xv, wv);
    Var a = CausalAttention.apply(tape, ctx, S, p, p, y, y, y, 4, 4, null);
    Var z = MatMul.apply(tape, ctx, S, p, a, tape.constant(w2, "w2"));
    Var loss = Sum.mean(tape, ctx, S, Precision.FP32, z);
    tape.backward(loss);
    return List.of(z.value(), xv.grad(), wv.grad());
  }

  @Test
  void oneAndTwoThreadsGiveTheSameBits() {
    SplittableRandom r = new SplittableRandom(11);
    for (FloatFormat f : List.of(FloatFormat.FP32, FloatFormat.FP16, FloatFormat.BF16)) {
      Precision p = new Precision(f, FloatFormat.FP32, FloatFormat.FP32);
      Tensor x = GradCheck.random(r, f, 1, 33, 257);
      Tensor w = GradCheck.random(r, f, 0.2, 64, 257);
      Tensor w2 = GradCheck.random(r, f, 0.2, 31, 64);
      List<Tensor> one = run(1, p, x, w, w2),
          two = run(2, p, x, w, w2),
          again = run(2, p, x, w, w2);
      for (int i = 0; i < one.size(); i++) {
        assertThat(bits(two.get(i)))
            .as("%s result %d, 1 vs 2 threads", f, i)
            .isEqualTo(bits(one.get(i)));
        assertThat(bits(again.get(i)))
            .as("%s result %d, run to run", f, i)
            .isEqualTo(bits(one.get(i)));
      }
    }
  }
}
