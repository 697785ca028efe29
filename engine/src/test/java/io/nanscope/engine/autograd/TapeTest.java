package io.nanscope.engine.autograd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The tape alone, with hand-written closures (ops are tested in engine.op). */
class TapeTest {

  private static Tensor vec(FloatFormat f, float... v) {
    return Tensor.of(f, Shape.of(v.length), v);
  }

  /** y = a ⊙ b as a closure: dA = dY ⊙ b, dB = dY ⊙ a. */
  private static Var mul(Tape tape, Var a, Var b) {
    Tensor y = Tensor.zeros(a.value().format(), a.value().shape());
    for (int i = 0; i < y.size(); i++) {
      y.set(i, a.value().get(i) * b.value().get(i));
    }
    return tape.record(
        "mul",
        y,
        (dy, needs) -> {
          Tensor da = needs[0] ? Tensor.zeros(a.gradFormat(), dy.shape()) : null;
          Tensor db = needs[1] ? Tensor.zeros(b.gradFormat(), dy.shape()) : null;
          for (int i = 0; i < dy.size(); i++) {
            if (da != null) da.set(i, dy.get(i) * b.value().get(i));
            if (db != null) db.set(i, dy.get(i) * a.value().get(i));
          }
          return new Tensor[] {da, db};
        },
        a,
        b);
  }

  @Test
  void opsOnConstantsAreNotRecorded() {
    Tape tape = new Tape();
    Var a = tape.constant(vec(FloatFormat.FP32, 1, 2), "a");
    Var y = mul(tape, a, a);
    assertThat(tape.size()).isZero();
    assertThat(y.requiresGrad()).isFalse();
    assertThatThrownBy(() -> tape.backward(y, vec(FloatFormat.FP32, 1, 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Tape.param");
  }

  @Test
  void gradientsFlowOnlyWhereAsked() {
    Tape tape = new Tape();
    Var w = tape.constant(vec(FloatFormat.FP32, 3, 4), "w");
    Var delta = tape.param(vec(FloatFormat.FP32, 5, 6), "delta");
    Var y = mul(tape, w, delta);
    Var z = mul(tape, y, w);
    tape.backward(z, vec(FloatFormat.FP32, 1, 1));
    // z = w² ⊙ delta: dz/ddelta = w²
    assertThat(delta.grad().toFloatArray()).containsExactly(9f, 16f);
    assertThat(w.grad()).isNull();
    assertThat(tape.ops()).containsExactly("mul", "mul");
  }

  @Test
  void aVarUsedTwiceSumsBothContributionsInItsGradFormat() {
    Tape tape = new Tape();
    // y = x ⊙ x: dy/dx = 2x, accumulated as x + x from the two uses.
    Var x = tape.param(vec(FloatFormat.FP16, 1000f), "x");
    Var y = mul(tape, x, x);
    tape.backward(y, vec(FloatFormat.FP16, 1f));
    assertThat(x.grad().get(0)).isEqualTo(2000f);
    assertThat(x.grad().format()).isEqualTo(FloatFormat.FP16);

    // Two paths into an FP32 grad: s = (x·1)·(x·1) gives 2049 + 2049 = 4098 exactly.
    Tape t2 = new Tape();
    Var x32 = t2.param(vec(FloatFormat.FP32, 2049f), "x", FloatFormat.FP32);
    Var ones = t2.constant(vec(FloatFormat.FP32, 1f), "one");
    Var y2 = mul(t2, x32, ones);
    Var y3 = mul(t2, x32, ones);
    Var s = mul(t2, y2, y3); // s = x²: ds/dx = 2x through two paths
    t2.backward(s, vec(FloatFormat.FP32, 1f));
    assertThat(x32.grad().get(0)).isEqualTo(4098f);
  }

  @Test
  void backwardOfAScalarLossSeedsOne() {
    Tape tape = new Tape();
    Var a = tape.param(Tensor.of(FloatFormat.FP32, Shape.of(), 3f), "a");
    Var y = mul(tape, a, a);
    tape.backward(y);
    assertThat(a.grad().get(0)).isEqualTo(6f);
    tape.zeroGrad();
    assertThat(a.grad()).isNull();
    Var v = tape.param(vec(FloatFormat.FP32, 1, 2), "v");
    assertThatThrownBy(() -> tape.backward(mul(tape, v, v)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("one-element");
  }

  @Test
  void wrongGradientShapeIsReported() {
    Tape tape = new Tape();
    Var a = tape.param(vec(FloatFormat.FP32, 1, 2), "a");
    Var y =
        tape.record(
            "bad",
            vec(FloatFormat.FP32, 1, 2),
            (dy, n) -> new Tensor[] {vec(FloatFormat.FP32, 1)},
            a);
    assertThatThrownBy(() -> tape.backward(y, vec(FloatFormat.FP32, 1, 1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("backward of the op");
  }
}
