package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every op's forward against {@link Reference64} at last-axis sizes 1, 7, 31, 33, 4095, in three
 * precisions, each with an error budget:
 *
 * <ul>
 *   <li>FP64 ({@link Precision#FP64}): same formula, different operation order; relative error ≤
 *       64·n·u₆₄ (u₆₄ = 2^-53) of the sum of magnitudes, far below any real bug.
 *   <li>FP32 ({@link Precision#FP32}): a sequential FP32 sum of n terms errs by ≤ n·u₃₂·Σ|terms|
 *       (Higham γ_n, u₃₂ = 2^-24); each element-wise step adds ≤ u₃₂ relative; budgets count steps.
 *   <li>pytorch-fp16 (output FP16, accumulate and compute FP32): the FP32 error above plus one FP16
 *       rounding (≤ 2^-11 relative, or half the smallest subnormal 2^-25 absolute) per rounding to
 *       FP16 the op performs (two in RMSNorm and SwiGLU: the intermediate tensor and the output).
 * </ul>
 *
 * Inputs are generated in the op's storage format, so the reference sees exactly the op's inputs.
 */
class OpForwardTest {

  private static final OpContext CTX = OpContext.DEFAULT;
  private static final Site S = Site.of("fwd");
  private static final FloatFormat FP16 = FloatFormat.FP16;

  /** The three precisions with their unit roundoffs: u for sums/intermediates, uOut for outputs. */
  private record Case(Precision p, double u, double uOut) {}

  private static final List<Case> CASES =
      List.of(
          new Case(Precision.FP64, 64 * Math.scalb(1.0, -53), 0),
          new Case(Precision.FP32, Math.scalb(1.0, -24), Math.scalb(1.0, -24)),
          new Case(
              new Precision(FP16, FloatFormat.FP32, FloatFormat.FP32),
              Math.scalb(1.0, -24),
              Math.scalb(1.0, -11)));

  private static final double SUBNORMAL_HALF_FP16 = Math.scalb(1.0, -25);

  private static void assertClose(String what, Tensor got, double[] ref, double[] budget) {
    assertThat(got.size()).isEqualTo(ref.length);
    for (int i = 0; i < ref.length; i++) {
      assertThat(Math.abs(got.getDouble(i) - ref[i]))
          .as("%s [%d]: got %s, reference %s", what, i, got.getDouble(i), ref[i])
          .isLessThanOrEqualTo(budget[i]);
    }
  }

  /** budget_i = steps·uOut·|ref_i| + sumTerms·u·|scale_i| + absolute floor for FP16 subnormals. */
  private static double[] budget(Case k, double[] ref, int outRoundings, double[] sumScale) {
    double[] b = new double[ref.length];
    for (int i = 0; i < ref.length; i++) {
      b[i] =
          outRoundings * k.uOut * Math.abs(ref[i]) * 1.001
              + (sumScale == null ? 0 : sumScale[i])
              + (k.p.output() == FP16 ? outRoundings * SUBNORMAL_HALF_FP16 : 0);
    }
    return b;
  }

  private static double[] scaled(double[] a, double s) {
    double[] out = a.clone();
    for (int i = 0; i < out.length; i++) {
      out[i] = Math.abs(out[i]) * s;
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 31, 33, 4095})
  void elementwise(int c) {
    for (Case k : CASES) {
      SplittableRandom r = new SplittableRandom(c);
      FloatFormat f = k.p.output();
      Tensor a = GradCheck.random(r, f, 6, 2, c), b = GradCheck.random(r, f, 6, 2, c);
      double[] av = a.toDoubleArray(), bv = b.toDoubleArray();
      int n = av.length;
      double[] add = new double[n],
          mul = new double[n],
          silu = new double[n],
          swiglu = new double[n],
          scale = new double[n];
      double[] siluScale = new double[n], swigluScale = new double[n];
      for (int i = 0; i < n; i++) {
        add[i] = av[i] + bv[i];
        mul[i] = av[i] * bv[i];
        scale[i] = 0.1 * av[i];
        silu[i] = Reference64.silu(av[i]);
        swiglu[i] = Reference64.silu(av[i]) * bv[i];
        // exp, +1, ÷ each within u: |Δsilu| ≤ 4u·|x| bounds the FP32 internal error.
        siluScale[i] = 4 * k.u * Math.abs(av[i]);
        swigluScale[i] = 5 * k.u * Math.abs(av[i] * bv[i]);
      }
      // the scale constant 0.1 is itself rounded to compute (FP32): one more u of |0.1·a|.
      double[] scaleB = budget(k, scale, 1, scaled(scale, 2 * k.u));
      assertClose(
          k.p + " add", Add.forward(CTX, S, k.p, a, b), add, budget(k, add, 1, scaled(add, k.u)));
      assertClose(
          k.p + " mul", Mul.forward(CTX, S, k.p, a, b), mul, budget(k, mul, 1, scaled(mul, k.u)));
      assertClose(k.p + " scale", Scale.forward(CTX, S, k.p, a, 0.1), scale, scaleB);
      assertClose(k.p + " silu", Silu.forward(CTX, S, k.p, a), silu, budget(k, silu, 1, siluScale));
      assertClose(
          k.p + " swiglu",
          SwiGlu.forward(CTX, S, k.p, a, b),
          swiglu,
          budget(k, swiglu, 2, swigluScale));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 31, 33, 4095})
  void rowwise(int c) {
    for (Case k : CASES) {
      SplittableRandom r = new SplittableRandom(10 + c);
      FloatFormat f = k.p.output();
      int t = 3;
      Tensor x = GradCheck.random(r, f, 4, t, c), w = GradCheck.random(r, f, 2, c);
      double[] xv = x.toDoubleArray(), wv = w.toDoubleArray();

      // RMSNorm: Σx² over c terms (≤ c·u·Σx² relative to the mean square, so ≤ (c+4)·u relative
      // in rstd), then x·rstd and w·x̂: (c + 6)·u relative to |w·x·rstd| = |ref|.
      double[] rms = Reference64.rmsnorm(xv, wv, t, c, 1e-5);
      assertClose(
          k.p + " rmsnorm",
          RmsNorm.forward(CTX, S, k.p, x, w, 1e-5).y(),
          rms,
          budget(k, rms, 2, scaled(rms, (c + 6) * k.u)));

      // Softmax: exp(x − m) relative u·(1 + |x − m|) (the argument's rounding, |x − m| ≤ 8), the
      // sum (c·u), the quotient (u): (c + 12)·u relative.
      double[] sm = Reference64.softmax(xv, t, c);
      assertClose(
          k.p + " softmax",
          Softmax.forward(CTX, S, k.p, x),
          sm,
          budget(k, sm, 1, scaled(sm, (c + 12) * k.u)));

      // Log-softmax: absolute error ≤ (c + 12)·u (log of a relative error) plus u·|ref|.
      double[] ls = Reference64.logSoftmax(xv, t, c);
      double[] lsAbs = new double[ls.length];
      for (int i = 0; i < ls.length; i++) {
        lsAbs[i] = (c + 12) * k.u + 2 * k.u * Math.abs(ls[i]);
      }
      Tensor lsGot = LogSoftmax.forward(CTX, S, k.p, x);
      assertClose(k.p + " log_softmax", lsGot, ls, budget(k, ls, 1, lsAbs));

      // NLL / cross-entropy of the log-softmax: a mean over t rows of values each within the
      // log-softmax budget: (c + 12 + 2·|ls|)·u + one output rounding.
      int[] targets = {0, c - 1, c / 2};
      boolean[] mask = {true, false, true};
      double[] nll = {Reference64.nll(ls, c, targets, mask)};
      double nllAbs = ((c + 16) * k.u + 2 * k.u * 30) * 1.5;
      Tensor ce = CrossEntropy.forward(CTX, S, k.p, x, targets, mask).loss();
      assertClose(k.p + " cross_entropy", ce, nll, budget(k, nll, 1, new double[] {nllAbs}));

      // Sum / mean / norm: c·t terms, γ_n with n = c·t.
      double s = 0, s2 = 0, abs = 0;
      for (double v : xv) {
        s += v;
        s2 += v * v;
        abs += Math.abs(v);
      }
      int n = xv.length;
      assertClose(
          k.p + " sum",
          Sum.sum(CTX, S, k.p, x),
          new double[] {s},
          budget(k, new double[] {s}, 1, new double[] {n * k.u * abs}));
      assertClose(
          k.p + " mean",
          Sum.mean(CTX, S, k.p, x),
          new double[] {s / n},
          budget(k, new double[] {s / n}, 1, new double[] {(n + 1) * k.u * abs / n}));
      double norm = Math.sqrt(s2);
      assertClose(
          k.p + " norm",
          Norm.forward(CTX, S, k.p, x),
          new double[] {norm},
          budget(k, new double[] {norm}, 1, new double[] {(n + 3) * k.u * norm}));

      // KL(target‖input) batchmean over t rows: terms e^t·(t − i) each within 4u relative.
      Tensor tl =
          LogSoftmax.forward(
              CTX, S, Precision.FP64, GradCheck.random(r, FloatFormat.FP64, 2, t, c));
      Tensor target = tl.to(f), input = lsGot;
      double[] tv = target.toDoubleArray(), iv = input.toDoubleArray();
      double kl = Reference64.klDivBatchmean(iv, tv, t), klAbs = 0;
      for (int i = 0; i < iv.length; i++) {
        klAbs += Math.abs(Math.exp(tv[i]) * (tv[i] - iv[i]));
      }
      assertClose(
          k.p + " kl_div",
          KlDiv.forward(CTX, S, k.p, input, target),
          new double[] {kl},
          budget(k, new double[] {kl}, 1, new double[] {(n + 6) * k.u * klAbs / t}));

      // Gather and embedding copy values: exact.
      int[] idx = {c - 1, 0, c / 2};
      double[] g = {xv[c - 1], xv[c], xv[2 * c + c / 2]};
      assertClose(k.p + " gather", Gather.forward(CTX, S, k.p, x, idx), g, new double[3]);
      Tensor e = Embedding.forward(CTX, S, k.p, x, new int[] {2, 0});
      double[] ev = new double[2 * c];
      System.arraycopy(xv, 2 * c, ev, 0, c);
      System.arraycopy(xv, 0, ev, c, c);
      assertClose(k.p + " embedding", e, ev, new double[2 * c]);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 8, 64, 128})
  void ropeBothLayouts(int d) {
    for (Case k : CASES) {
      SplittableRandom r = new SplittableRandom(d);
      int t = 5, heads = 2;
      FloatFormat f = k.p.output();
      Tensor x = GradCheck.random(r, f, 2, t, heads * d);
      int[] pos = {0, 1, 7, 100, 4095};
      for (Rope.Layout layout : Rope.Layout.values()) {
        double[] ref =
            Reference64.rope(
                x.toDoubleArray(), t, heads, d, pos, 10000, layout == Rope.Layout.INTERLEAVED);
        // Angles pos·θ_i are FP32 in the FP32/FP16 paths: |Δangle| ≤ 3u·pos (θ_i's pow, ÷, ×), so
        // the rotated pair moves by ≤ 3u·pos·|pair|; plus products and sum: 4u·|pair|.
        double[] b = new double[ref.length];
        double[] xv = x.toDoubleArray();
        for (int i = 0; i < ref.length; i++) {
          int row = i / (heads * d);
          int within = i % d;
          int mate =
              layout == Rope.Layout.INTERLEAVED
                  ? (within % 2 == 0 ? i + 1 : i - 1)
                  : (within < d / 2 ? i + d / 2 : i - d / 2);
          double pair = Math.abs(xv[i]) + Math.abs(xv[mate]);
          double u = k.p == Precision.FP64 ? k.u : Math.scalb(1.0, -24);
          b[i] =
              (3 * u * pos[row] + 4 * u) * pair
                  + k.uOut * Math.abs(ref[i]) * 1.001
                  + (f == FP16 ? 3 * SUBNORMAL_HALF_FP16 : 0);
        }
        assertClose(
            k.p + " rope " + layout,
            Rope.forward(CTX, S, k.p, x, heads, pos, 10000, layout),
            ref,
            b);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 33})
  void causalAttention(int t) {
    for (Case k : CASES) {
      SplittableRandom r = new SplittableRandom(t);
      int h = 4, hkv = 2, d = 16;
      FloatFormat f = k.p.output();
      Tensor q = GradCheck.random(r, f, 2, t, h * d), kk = GradCheck.random(r, f, 2, t, hkv * d);
      Tensor v = GradCheck.random(r, f, 2, t, hkv * d);
      boolean[] mask = new boolean[t];
      java.util.Arrays.fill(mask, true);
      mask[t / 2] = t == 1; // pad one key in the middle (never the only key)
      double[] ref =
          Reference64.attention(
              q.toDoubleArray(), kk.toDoubleArray(), v.toDoubleArray(), t, t, h, hkv, d, mask);
      // Scores |s| ≤ 4·d/√d = 16 after scaling; in FP16 the score, its scaling and P are rounded:
      // P changes by ≤ (2·uOut·16 + uOut + (t+12)·u) relative, o = Σ P·v with |v| ≤ 2, Σ P = 1,
      // then the output rounding: budget 2·(that) + uOut·|o| (+ d·u for the FP32 dot products).
      double perP = 2 * k.uOut * 16 + k.uOut + (t + 12 + 2 * d) * k.u;
      double[] b = new double[ref.length];
      for (int i = 0; i < b.length; i++) {
        b[i] =
            2 * 2 * perP
                + (t + 1) * k.u * 2
                + k.uOut * Math.abs(ref[i]) * 1.001
                + (f == FP16 ? SUBNORMAL_HALF_FP16 : 0);
      }
      CausalAttention.Forward out =
          CausalAttention.forward(CTX, S, k.p, k.p, q, kk, v, h, hkv, mask);
      assertClose(k.p + " attention T=" + t, out.out(), ref, b);
      assertThat(out.probs().shape().dims()).containsExactly(h, t, t);
    }
  }
}
