package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/**
 * Checks an op's backward against FP64 central differences. The scalar probed is {@code L = Σ_k
 * r_k·y_k} for fixed random weights r (a vector-Jacobian product), so every output element's
 * gradient path is exercised. Budget: with h = 1e-5 the central difference has truncation error
 * O(h²·|f'''|) ≈ 1e-10 and cancellation error O(u₆₄·|L|/h) ≈ 1e-11 for |L| ≈ 1, so 1e-6 relative
 * (plus 1e-7 absolute) leaves two orders of margin without hiding a wrong term (a wrong term is
 * O(1) relative).
 */
final class GradCheck {

  private GradCheck() {}

  static final double H = 1e-5;

  static Tensor random(SplittableRandom rnd, FloatFormat f, double scale, long... dims) {
    Shape s = Shape.of(dims);
    double[] v = new double[Math.toIntExact(s.size())];
    for (int i = 0; i < v.length; i++) {
      v[i] = (rnd.nextDouble() * 2 - 1) * scale;
    }
    return Tensor.ofDoubles(f, s, v);
  }

  /**
   * @param inputs FP64 inputs; all of them get a gradient
   * @param f builds the op on the tape from the input Vars
   * @param probe which elements of each input to probe (all when ≤ 64 elements, else 64 spread out)
   */
  static void check(String what, List<Tensor> inputs, BiFunction<Tape, List<Var>, Var> f) {
    SplittableRandom rnd = new SplittableRandom(what.hashCode());
    Tape tape = new Tape();
    List<Var> vars = new ArrayList<>();
    for (int i = 0; i < inputs.size(); i++) {
      vars.add(tape.param(inputs.get(i), "in" + i));
    }
    Var y = f.apply(tape, vars);
    Tensor r = random(rnd, FloatFormat.FP64, 1.0, y.value().shape().dims());
    tape.backward(y, r);
    for (int i = 0; i < inputs.size(); i++) {
      Tensor x = inputs.get(i);
      Tensor g = vars.get(i).grad();
      assertThat(g).as("%s: gradient of input %d reached", what, i).isNotNull();
      long n = x.size();
      long stride = Math.max(1, n / 64);
      for (long e = 0; e < n; e += stride) {
        double numeric = (probe(inputs, i, e, +H, f, r) - probe(inputs, i, e, -H, f, r)) / (2 * H);
        double analytic = g.getDouble(e);
        assertThat(Math.abs(analytic - numeric))
            .as(
                "%s: d/d input%d[%d]: analytic %s vs central difference %s",
                what, i, e, analytic, numeric)
            .isLessThanOrEqualTo(1e-6 * Math.abs(numeric) + 1e-7);
      }
    }
  }

  private static double probe(
      List<Tensor> inputs,
      int which,
      long e,
      double h,
      BiFunction<Tape, List<Var>, Var> f,
      Tensor r) {
    Tape tape = new Tape();
    List<Var> vars = new ArrayList<>();
    for (int i = 0; i < inputs.size(); i++) {
      Tensor t = inputs.get(i).copy();
      if (i == which) {
        t.setDouble(e, t.getDouble(e) + h);
      }
      vars.add(tape.constant(t, "in" + i));
    }
    Tensor y = f.apply(tape, vars).value();
    double s = 0;
    for (long k = 0; k < y.size(); k++) {
      s += r.getDouble(k) * y.getDouble(k);
    }
    return s;
  }
}
