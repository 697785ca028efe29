package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.Overflow;
import io.nanscope.engine.format.RoundingSpec;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.Tracer;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The float paths of the element-wise ops against their double paths ({@code ...Doubles}, the code
 * every op ran before): same stored bits of the output, and the same stored bits of the unrounded
 * FP32 copy a tracer receives. Zero budget: the float path claims to reproduce every rounding.
 *
 * <p>Inputs: random values over many binades plus NaN, ±inf, ±0, FP32 and target-format subnormals,
 * exact ties of the target format, values at and just past its overflow threshold; every built-in
 * format stored as such (FP32, TF32, BF16, FP16, FP8 E5M2, FP8 E4M3) and a custom one; sizes 1, 7,
 * 31, 33, 4095 (4095 with nearest-even only); nearest-even, saturating and stochastic output
 * rounding.
 */
class FloatPathTest {

  private static final int[] SIZES = {1, 7, 31, 33, 4095};
  private static final Site S = Site.of("float_path");

  private static List<FloatFormat> formats() {
    List<FloatFormat> out = new ArrayList<>();
    for (FloatFormat f : FloatFormat.builtIns()) {
      if (f != FloatFormat.FP64) {
        out.add(f);
      }
    }
    out.add(FloatFormat.custom(6, 5));
    return out;
  }

  private static List<RoundingSpec> specs() {
    return List.of(
        RoundingSpec.NEAREST_EVEN,
        RoundingSpec.NEAREST_EVEN.withOverflow(Overflow.SATURATE),
        RoundingSpec.stochastic(7));
  }

  /**
   * Values worth rounding for format f: specials, ties, limits, subnormals and random magnitudes.
   */
  private static float[] values(FloatFormat f, int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double max = f.info().maxFinite();
    double tiny = f.info().minSubnormal();
    double eps = f.info().ulpOfOne();
    float[] special = {
      Float.NaN,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      0f,
      -0f,
      Float.MIN_VALUE,
      -Float.MIN_NORMAL / 3,
      (float) max,
      (float) -max,
      (float) Math.min(max * (1 + eps / 2), Float.MAX_VALUE),
      (float) (1 + eps / 2),
      (float) (-1 - 3 * eps / 2),
      (float) tiny,
      (float) (tiny / 2),
      (float) (3 * tiny / 2),
      (float) f.info().minNormal(),
      255.875f,
      261.75f,
      2622f,
      -88.7f,
      11.09f,
      1e-5f
    };
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      int pick = rnd.nextInt(10);
      if (pick == 0) {
        v[i] = special[rnd.nextInt(special.length)];
      } else if (pick == 1) {
        v[i] =
            (float)
                (Math.scalb(1.0 + rnd.nextInt(8) * eps / 2, rnd.nextInt(-8, 8))
                    * (rnd.nextBoolean() ? 1 : -1));
      } else {
        double mag = Math.scalb(rnd.nextDouble(1, 2), rnd.nextInt(-20, 12));
        v[i] = (float) (rnd.nextBoolean() ? mag : -mag);
      }
    }
    return v;
  }

  private static Tensor tensor(FloatFormat f, Shape shape, long seed) {
    return Tensor.of(f, shape, values(f, Math.toIntExact(shape.size()), seed));
  }

  /** Collects every record an op reports. */
  private static final class Collect implements Tracer {
    final List<OpRecord> records = new ArrayList<>();

    @Override
    public boolean enabled() {
      return true;
    }

    @Override
    public void record(OpRecord r) {
      records.add(r);
    }
  }

  private static byte[] bytes(Tensor t) {
    return t.segment().toArray(ValueLayout.JAVA_BYTE);
  }

  /**
   * Runs both paths with a collecting tracer and with none; asserts the outputs and the traced
   * outputs and unrounded copies are the same bytes, and that the float path actually ran (checked
   * by the caller through {@code expectFloat}).
   */
  private static void same(
      String what, Function<OpContext, Tensor> fast, Function<OpContext, Tensor> slow) {
    Tensor a = fast.apply(OpContext.DEFAULT);
    Tensor b = slow.apply(OpContext.DEFAULT);
    assertThat(a.format()).as(what).isEqualTo(b.format());
    assertThat(a.shape()).as(what).isEqualTo(b.shape());
    assertThat(bytes(a)).as("%s: output bits", what).isEqualTo(bytes(b));
    Collect ca = new Collect(), cb = new Collect();
    fast.apply(OpContext.DEFAULT.withTracer(ca));
    slow.apply(OpContext.DEFAULT.withTracer(cb));
    assertThat(ca.records).as(what).hasSameSizeAs(cb.records);
    for (int i = 0; i < ca.records.size(); i++) {
      OpRecord ra = ca.records.get(i), rb = cb.records.get(i);
      assertThat(ra.op()).isEqualTo(rb.op());
      assertThat(bytes(ra.output())).as("%s: traced output", what).isEqualTo(bytes(rb.output()));
      assertThat(ra.unrounded() == null)
          .as("%s: unrounded present", what)
          .isEqualTo(rb.unrounded() == null);
      if (ra.unrounded() != null) {
        assertThat(bytes(ra.unrounded()))
            .as("%s: unrounded bits", what)
            .isEqualTo(bytes(rb.unrounded()));
      }
    }
  }

  @Test
  void elementwiseForwardAndBackwardMatchTheDoublePath() {
    long seed = 1;
    for (FloatFormat f : formats()) {
      for (RoundingSpec spec : specs()) {
        Precision p = new Precision(f, FloatFormat.FP32, FloatFormat.FP32, spec);
        assertThat(Emit.floatPath(p)).as("float path taken for %s", p).isTrue();
        for (int n : SIZES) {
          if (n > 1000 && !spec.isIeeeDefault()) {
            continue; // the long size with nearest-even only: the per-element specs are slow on
            // doubles
          }
          Shape sh = Shape.of(n);
          Tensor a = tensor(f, sh, seed++), b = tensor(f, sh, seed++), dy = tensor(f, sh, seed++);
          String w = f + " " + spec + " n=" + n;
          same("mul " + w, c -> Mul.forward(c, S, p, a, b), c -> Mul.forwardDoubles(c, S, p, a, b));
          same("add " + w, c -> Add.forward(c, S, p, a, b), c -> Add.forwardDoubles(c, S, p, a, b));
          same(
              "scale " + w,
              c -> Scale.forward(c, S, p, a, 0.08838834764831845),
              c -> Scale.forwardDoubles(c, S, p, a, 0.08838834764831845));
          same("silu " + w, c -> Silu.forward(c, S, p, a), c -> Silu.forwardDoubles(c, S, p, a));
          same(
              "swiglu " + w,
              c -> SwiGlu.forward(c, S, p, a, b),
              c -> SwiGlu.forwardDoubles(c, S, p, a, b));
          for (FloatFormat g : List.of(f, FloatFormat.FP32)) {
            String wg = w + " grad " + g;
            same(
                "mul.grad " + wg,
                c -> Mul.backward(c, S, p, dy, b, g),
                c -> Mul.backwardDoubles(c, S, p, dy, b, g));
            same(
                "scale.grad " + wg,
                c -> Scale.backward(c, S, p, dy, 3.0, g),
                c -> Scale.backwardDoubles(c, S, p, dy, 3.0, g));
            same(
                "silu.grad " + wg,
                c -> Silu.backward(c, S, p, dy, a, g),
                c -> Silu.backwardDoubles(c, S, p, dy, a, g));
            same(
                "swiglu.dgate " + wg,
                c -> SwiGlu.backwardGate(c, S, p, dy, a, b, g),
                c -> SwiGlu.backwardGateDoubles(c, S, p, dy, a, b, g));
            same(
                "swiglu.dup " + wg,
                c -> SwiGlu.backwardUp(c, S, p, dy, a, g),
                c -> SwiGlu.backwardUpDoubles(c, S, p, dy, a, g));
          }
        }
      }
    }
  }

  @Test
  void castAndIdentityGradientsMatchTheDoublePath() {
    long seed = 100;
    for (FloatFormat from : formats()) {
      for (int n : SIZES) {
        Tensor x = tensor(from, Shape.of(n), seed++);
        for (FloatFormat to : formats()) {
          double[] v = x.toDoubleArray();
          same(
              "cast " + from + "->" + to + " n=" + n,
              c -> Cast.forward(c, S, x, to),
              c ->
                  Emit.output(
                      c,
                      S,
                      "cast",
                      io.nanscope.engine.trace.Phase.FORWARD,
                      to,
                      x.shape(),
                      v.clone(),
                      x));
          same(
              "add.grad " + from + "->" + to + " n=" + n,
              c -> Add.backward(c, S, x, to),
              c ->
                  Emit.output(
                      c,
                      S,
                      "add.grad",
                      io.nanscope.engine.trace.Phase.BACKWARD,
                      to,
                      x.shape(),
                      v.clone(),
                      x));
        }
      }
    }
  }

  @Test
  void rowOpsMatchTheDoublePath() {
    long seed = 200;
    for (FloatFormat f : formats()) {
      for (RoundingSpec spec : specs()) {
        Precision p = new Precision(f, FloatFormat.FP32, FloatFormat.FP32, spec);
        for (int n : SIZES) {
          if (n > 1000 && !spec.isIeeeDefault()) {
            continue;
          }
          int rows = n == 4095 ? 2 : 3;
          Shape sh = Shape.of(rows, n);
          Tensor x = tensor(f, sh, seed++),
              dy = tensor(f, sh, seed++),
              w = tensor(f, Shape.of(n), seed++);
          Tensor delta = tensor(f, Shape.of(n), seed++);
          String wd = f + " " + spec + " " + sh;
          RmsNorm.Forward rf = RmsNorm.forward(OpContext.DEFAULT, S, p, x, w, 1e-5);
          RmsNorm.Forward rd = RmsNorm.forwardDoubles(OpContext.DEFAULT, S, p, x, w, 1e-5);
          assertThat(rf.rstd()).as("rstd " + wd).isEqualTo(rd.rstd());
          same(
              "rmsnorm " + wd,
              c -> RmsNorm.forward(c, S, p, x, w, 1e-5).y(),
              c -> RmsNorm.forwardDoubles(c, S, p, x, w, 1e-5).y());
          same(
              "softmax " + wd,
              c -> Softmax.forward(c, S, p, x),
              c -> Softmax.forwardDoubles(c, S, p, x));
          same(
              "log_softmax " + wd,
              c -> LogSoftmax.forward(c, S, p, x),
              c -> LogSoftmax.forwardDoubles(c, S, p, x));
          int[] at = {rows - 1, 0, rows - 1};
          same(
              "add_rows " + wd,
              c -> Add.atRowsForward(c, S, p, x, delta, at),
              c -> forwardRowsDoubles(c, p, x, delta, at));
          int[] tokens = {rows - 1, 0, 1 % rows, rows - 1};
          same(
              "embedding " + wd,
              c -> Embedding.forward(c, S, p, x, tokens),
              c -> embeddingDoubles(c, p, x, tokens));
          for (FloatFormat g : List.of(f, FloatFormat.FP32)) {
            String wg = wd + " grad " + g;
            Tensor y = Softmax.forward(OpContext.DEFAULT, S, p, x);
            Tensor ly = LogSoftmax.forward(OpContext.DEFAULT, S, p, x);
            same(
                "softmax.grad " + wg,
                c -> Softmax.backward(c, S, p, dy, y, g),
                c -> Softmax.backwardDoubles(c, S, p, dy, y, g));
            same(
                "log_softmax.grad " + wg,
                c -> LogSoftmax.backward(c, S, p, dy, ly, g),
                c -> LogSoftmax.backwardDoubles(c, S, p, dy, ly, g));
            same(
                "rmsnorm.dx " + wg,
                c -> RmsNorm.backwardInput(c, S, p, dy, x, w, rd.rstd(), g),
                c -> RmsNorm.backwardInputDoubles(c, S, p, dy, x, w, rd.rstd(), g));
            same(
                "rmsnorm.dw " + wg,
                c -> RmsNorm.backwardWeight(c, S, p, dy, x, w, rd.rstd(), g),
                c -> RmsNorm.backwardWeightDoubles(c, S, p, dy, x, w, rd.rstd(), g));
          }
        }
      }
    }
  }

  @Test
  void ropeMatchesTheDoublePathInFp32AndInSixteenBitCompute() {
    long seed = 300;
    for (FloatFormat f : formats()) {
      List<Precision> ps =
          new ArrayList<>(List.of(new Precision(f, FloatFormat.FP32, FloatFormat.FP32)));
      if (f == FloatFormat.FP16 || f == FloatFormat.BF16) {
        ps.add(new Precision(f, FloatFormat.FP32, f)); // pytorch-* RoPE: products and sums in S
        ps.add(new Precision(f, FloatFormat.FP32, f, RoundingSpec.stochastic(3)));
      }
      for (Precision p : ps) {
        for (int d : new int[] {2, 8, 32, 34}) {
          for (Rope.Layout layout : Rope.Layout.values()) {
            int heads = 2, t = 5;
            Tensor x = tensor(f, Shape.of(t, heads * d), seed++);
            int[] pos = {0, 1, 7, 255, 4095};
            String w = p + " d=" + d + " " + layout;
            same(
                "rope " + w,
                c -> Rope.forward(c, S, p, x, heads, pos, 10000, layout),
                c -> Rope.forwardDoubles(c, S, p, x, heads, pos, 10000, layout));
            same(
                "rope.grad " + w,
                c -> Rope.backward(c, S, p, x, heads, pos, 10000, layout, f),
                c -> Rope.backwardDoubles(c, S, p, x, heads, pos, 10000, layout, f));
          }
        }
      }
    }
  }

  @Test
  void reductionsAndLossesMatchTheDoublePath() {
    long seed = 500;
    for (FloatFormat f : formats()) {
      for (RoundingSpec spec : specs()) {
        Precision p = new Precision(f, FloatFormat.FP32, FloatFormat.FP32, spec);
        for (int n : SIZES) {
          if (n > 1000 && !spec.isIeeeDefault()) {
            continue;
          }
          Shape sh = Shape.of(2, n);
          Tensor a = tensor(f, sh, seed++), b = tensor(f, sh, seed++), dy = tensor(f, sh, seed++);
          // KL on log-probabilities: mostly moderate values, some specials
          Tensor la = Tensor.of(f, sh, logits(n, seed++)), lb = Tensor.of(f, sh, logits(n, seed++));
          Tensor dl = Tensor.of(FloatFormat.FP32, Shape.of(), 0.75f);
          String w = f + " " + spec + " " + sh;
          same("sum " + w, c -> Sum.sum(c, S, p, a), c -> Sum.sumDoubles(c, S, p, a));
          same("mean " + w, c -> Sum.mean(c, S, p, a), c -> Sum.meanDoubles(c, S, p, a));
          same("norm " + w, c -> Norm.forward(c, S, p, a), c -> Norm.forwardDoubles(c, S, p, a));
          Tensor nrm = Norm.forward(OpContext.DEFAULT, S, p, la);
          same(
              "kl_div " + w,
              c -> KlDiv.forward(c, S, p, la, lb),
              c -> KlDiv.forwardDoubles(c, S, p, la, lb));
          same(
              "kl_div(specials) " + w,
              c -> KlDiv.forward(c, S, p, a, b),
              c -> KlDiv.forwardDoubles(c, S, p, a, b));
          for (FloatFormat g : List.of(f, FloatFormat.FP32)) {
            String wg = w + " grad " + g;
            same(
                "norm.grad " + wg,
                c -> Norm.backward(c, S, p, dl, la, nrm, g),
                c -> Norm.backwardDoubles(c, S, p, dl, la, nrm, g));
            same(
                "kl_div.dinput " + wg,
                c -> KlDiv.backwardInput(c, S, p, dl, lb, g),
                c -> KlDiv.backwardInputDoubles(c, S, p, dl, lb, g));
            same(
                "kl_div.dtarget " + wg,
                c -> KlDiv.backwardTarget(c, S, p, dl, la, lb, g),
                c -> KlDiv.backwardTargetDoubles(c, S, p, dl, la, lb, g));
            same(
                "kl_div.dtarget(specials) " + wg,
                c -> KlDiv.backwardTarget(c, S, p, dl, a, b, g),
                c -> KlDiv.backwardTargetDoubles(c, S, p, dl, a, b, g));
          }
        }
      }
    }
  }

  private static float[] logits(int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] v = new float[2 * n];
    for (int i = 0; i < v.length; i++) {
      v[i] =
          rnd.nextInt(40) == 0
              ? Float.NEGATIVE_INFINITY
              : (float) (-Math.abs(rnd.nextGaussian()) * 6);
    }
    return v;
  }

  /**
   * Attention's softmax rows on doubles (any doubles, not only floats) against the generic steps.
   */
  @Test
  void softmaxRowsOnDoublesMatchTheGenericSteps() {
    SplittableRandom rnd = new SplittableRandom(400);
    Precision p = new Precision(FloatFormat.FP16, FloatFormat.FP32, FloatFormat.FP32);
    for (int n : SIZES) {
      double[] x = new double[n], dy = new double[n];
      for (int i = 0; i < n; i++) {
        x[i] =
            rnd.nextInt(8) == 0
                ? new double[] {
                      Double.NaN,
                      Double.NEGATIVE_INFINITY,
                      -65504,
                      0,
                      -0.0,
                      -103.9,
                      -104,
                      -104.01,
                      -3.4e38
                    }
                    [rnd.nextInt(9)]
                : rnd.nextGaussian() * 40;
        dy[i] = rnd.nextGaussian();
      }
      for (boolean allMasked : new boolean[] {false, true}) {
        double[] in = allMasked ? new double[n] : x;
        if (allMasked) {
          java.util.Arrays.fill(in, Double.NEGATIVE_INFINITY);
        }
        double[] got = new double[n], want = new double[n];
        Softmax.row(p, in, 0, n, got, 0);
        double m = Double.NEGATIVE_INFINITY;
        for (double v : in) {
          m = Math.max(m, v);
        }
        for (int j = 0; j < n; j++) {
          want[j] = p.roundCompute(Math.exp(p.roundCompute(in[j] - m)));
        }
        double s = Reduce.sum(p.accumulate(), want, 0, 1, n);
        for (int j = 0; j < n; j++) {
          want[j] = p.roundCompute(want[j] / s);
        }
        assertThat(got).as("row n=%d masked=%s", n, allMasked).isEqualTo(want);
        double[] gb = new double[n], wb = new double[n];
        Softmax.rowBackward(p, got, 0, dy, 0, n, gb, 0);
        double dot = Reduce.dot(p.accumulate(), dy, 0, 1, got, 0, 1, n);
        for (int i = 0; i < n; i++) {
          wb[i] = p.roundCompute(got[i] * p.roundCompute(dy[i] - dot));
        }
        assertThat(gb).as("backward n=%d", n).isEqualTo(wb);
      }
    }
  }

  /**
   * The exp shortcut of the FP32 softmax row: (float) Math.exp(d) is +0 for every float d ≤ −104.
   */
  @Test
  void expOfMinus104AndBelowRoundsToZeroInFp32() {
    for (float d = -104f; d > -200f; d = Math.nextDown(d) - 0.001f * Math.abs(d)) {
      assertThat(Float.floatToRawIntBits((float) Math.exp(d))).as("exp(%s)", d).isZero();
    }
    assertThat((float) Math.exp(-103.97f))
        .isPositive(); // the bound is tight: just above it is not 0
    assertThat(Float.floatToRawIntBits((float) Math.exp(-3.4e38f))).isZero();
  }

  @Test
  void narrowComputeAndFp64KeepTheDoublePath() {
    Tensor x16 = Tensor.of(FloatFormat.FP16, Shape.of(2), 1f, 2f);
    Tensor x64 = Tensor.of(FloatFormat.FP64, Shape.of(2), 1f, 2f);
    assertThat(Emit.floatPath(Precision.uniform(FloatFormat.FP16), x16))
        .isFalse(); // naive: compute FP16
    assertThat(Emit.floatPath(Precision.FP32, x64)).isFalse(); // FP64 values are not floats
    assertThat(Emit.floatPath(Precision.FP64, x16)).isFalse();
    assertThat(Emit.floatPath(Precision.FP32, x16)).isTrue();
  }

  // The double forms of the two ops whose double path is not kept as a method (written from the
  // code they replace: each value rounded once by Emit's double output).

  private static Tensor forwardRowsDoubles(
      OpContext ctx, Precision p, Tensor x, Tensor delta, int[] rows) {
    int c = Math.toIntExact(x.shape().cols());
    double[] y = x.toDoubleArray(), d = delta.toDoubleArray();
    for (int r : rows) {
      for (int j = 0; j < c; j++) {
        y[r * c + j] = p.roundCompute(y[r * c + j] + d[j]);
      }
    }
    return Emit.output(
        ctx, S, "add_rows", io.nanscope.engine.trace.Phase.FORWARD, p, x.shape(), y, x, delta);
  }

  private static Tensor embeddingDoubles(OpContext ctx, Precision p, Tensor table, int[] tokens) {
    int c = Math.toIntExact(table.shape().dim(1));
    double[] x = new double[tokens.length * c];
    for (int t = 0; t < tokens.length; t++) {
      for (int j = 0; j < c; j++) {
        x[t * c + j] = table.getDouble((long) tokens[t] * c + j);
      }
    }
    return Emit.output(
        ctx,
        S,
        "embedding",
        io.nanscope.engine.trace.Phase.FORWARD,
        p,
        Shape.of(tokens.length, c),
        x,
        table);
  }
}
