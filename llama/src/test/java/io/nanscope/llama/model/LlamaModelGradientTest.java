package io.nanscope.llama.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.RopeLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Full-model backward in FP64 against FP64 central differences: the loss is {@code L = Σ r ⊙
 * logits} over a right-padded batch of two rows (fixed random r), so dL/dlogits = r seeds the tape.
 *
 * <p>Budget: central differences with step h = 1e-5 have truncation error O(h²·|f'''|) ≈ 1e-10 and
 * rounding error O(ε·|L|/h) ≈ 1e-11 for |L| ~ 10, so |analytic − numeric| ≤ 1e-7·(1 + |numeric|)
 * holds with two orders of margin; a wrong backward is off by O(|gradient|).
 */
class LlamaModelGradientTest {

  static final PrecisionPolicy FP64 = PrecisionPolicy.uniform("fp64", Precision.FP64);
  static final SequenceBatch BATCH = new SequenceBatch(new int[][] {{1, 5, 9, 30, 2}, {1, 17, 3}});
  static final double H = 1e-5;

  static Tensor seed(SequenceOutput out) {
    Tensor r = Tensor.zeros(FloatFormat.FP64, out.logits().value().shape());
    SplittableRandom rnd = new SplittableRandom(7);
    for (long i = 0; i < r.size(); i++) {
      r.setDouble(i, rnd.nextDouble(-1, 1));
    }
    return r;
  }

  static double loss(LlamaModel m, Hooks hooks) {
    SequenceOutput out = m.forward(BATCH, FP64, OpContext.DEFAULT, null, hooks);
    Tensor r = seed(out);
    double s = 0;
    for (long i = 0; i < r.size(); i++) {
      s += r.getDouble(i) * out.logits().value().getDouble(i);
    }
    return s;
  }

  static double numeric(LlamaModel m, Tensor t, long i, Hooks hooks) {
    double x = t.getDouble(i);
    t.setDouble(i, x + H);
    double up = loss(m, hooks);
    t.setDouble(i, x - H);
    double down = loss(m, hooks);
    t.setDouble(i, x);
    return (up - down) / (2 * H);
  }

  @ParameterizedTest
  @EnumSource(RopeLayout.class)
  void weightGradientsMatchCentralDifferences(RopeLayout layout) {
    LlamaModel m = TinyLlama.model(FloatFormat.FP64, layout, 11);
    Tape tape = new Tape();
    Map<String, Var> params = m.weightsAsParams(tape, name -> true);
    assertThat(params).hasSize(3 + 9 * m.config().nLayers());
    SequenceOutput out = m.forward(BATCH, FP64, OpContext.DEFAULT, tape, Hooks.none(), params);
    tape.backward(out.logits(), seed(out));
    SplittableRandom pick = new SplittableRandom(3);
    List<String> failures = new ArrayList<>();
    double maxErr = 0;
    for (Map.Entry<String, Var> e : params.entrySet()) {
      Tensor w = e.getValue().value();
      Tensor g = e.getValue().grad();
      assertThat(g).as(e.getKey()).isNotNull();
      for (int n = 0; n < 3; n++) {
        long i = pick.nextLong(w.size());
        double num = numeric(m, w, i, Hooks.none());
        double err = Math.abs(g.getDouble(i) - num);
        maxErr = Math.max(maxErr, err / (1 + Math.abs(num)));
        if (err > 1e-7 * (1 + Math.abs(num))) {
          failures.add(
              e.getKey()
                  + "["
                  + i
                  + "]: backward "
                  + g.getDouble(i)
                  + ", central difference "
                  + num);
        }
      }
    }
    assertThat(failures).as("max scaled error %s", maxErr).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(RopeLayout.class)
  void deltaAddedAtMlpOutputGetsTheCentralDifferenceGradient(RopeLayout layout) {
    LlamaModel m = TinyLlama.model(FloatFormat.FP64, layout, 12);
    int c = m.config().dim();
    Tensor delta = Tensor.zeros(FloatFormat.FP64, Shape.of(c));
    SplittableRandom rnd = new SplittableRandom(5);
    for (int j = 0; j < c; j++) {
      delta.setDouble(j, rnd.nextDouble(-0.5, 0.5));
    }
    Tape tape = new Tape();
    Var d = tape.param(delta, "delta");
    // layer 0, row 1 (the short, padded row), its last real token
    Hooks hooks = Hooks.none().addToMlpOutput(0, 1, 2, d);
    SequenceOutput out = m.forward(BATCH, FP64, OpContext.DEFAULT, tape, hooks);
    tape.backward(out.logits(), seed(out));
    assertThat(d.grad()).isNotNull();
    Hooks plain = Hooks.none().addToMlpOutput(0, 1, 2, new Tape().constant(delta, "delta"));
    for (int j = 0; j < c; j++) {
      double num = numeric(m, delta, j, plain);
      assertThat(d.grad().getDouble(j))
          .as("dL/ddelta[%d]", j)
          .isCloseTo(num, org.assertj.core.data.Offset.offset(1e-7 * (1 + Math.abs(num))));
    }
    // and the delta changes the loss at all (the test could not pass with a no-op hook)
    assertThat(loss(m, plain)).isNotEqualTo(loss(m, Hooks.none()));
  }

  @ParameterizedTest
  @EnumSource(RopeLayout.class)
  void deltaAddedToTheResidualGetsTheCentralDifferenceGradient(RopeLayout layout) {
    LlamaModel m = TinyLlama.model(FloatFormat.FP64, layout, 13);
    int c = m.config().dim();
    Tensor delta = Tensor.zeros(FloatFormat.FP64, Shape.of(c));
    SplittableRandom rnd = new SplittableRandom(6);
    for (int j = 0; j < c; j++) {
      delta.setDouble(j, rnd.nextDouble(-0.5, 0.5));
    }
    Tape tape = new Tape();
    Var d = tape.param(delta, "delta");
    // layer 0's output (MEMIT's z site), row 0 at token 1: later tokens see it through attention
    Hooks hooks = Hooks.none().captureResidual(0, 0, 1).addToResidual(0, 0, 1, d);
    SequenceOutput out = m.forward(BATCH, FP64, OpContext.DEFAULT, tape, hooks);
    tape.backward(out.logits(), seed(out));
    assertThat(d.grad()).isNotNull();
    Hooks plain = Hooks.none().addToResidual(0, 0, 1, new Tape().constant(delta, "delta"));
    for (int j = 0; j < c; j++) {
      double num = numeric(m, delta, j, plain);
      assertThat(d.grad().getDouble(j))
          .as("dL/ddelta[%d]", j)
          .isCloseTo(num, org.assertj.core.data.Offset.offset(1e-7 * (1 + Math.abs(num))));
    }
    // the capture is the residual before the delta: the same as without any addition
    SequenceOutput bare =
        m.forward(BATCH, FP64, OpContext.DEFAULT, null, Hooks.none().captureResidual(0, 0, 1));
    assertThat(out.captured(Hooks.residualKey(0, 0, 1)))
        .isEqualTo(bare.captured(Hooks.residualKey(0, 0, 1)));
    assertThat(loss(m, plain)).isNotEqualTo(loss(m, Hooks.none()));
  }
}
