package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.RoundingSpec;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Skipping masked keys (forward) and zero-probability suffixes (backward, dS formed one row at a
 * time) must give the bits of the dense algorithm: {@link DenseAttention} is the op as it was
 * before skipping (every score, the whole (H, Tq, Tk) dS), kept here as the twin. Budget: zero
 * ulps, every output and gradient element compared by its bits, including ±0 and NaN payload-free
 * NaN-ness. Inputs: random heads, GQA, padding and non-prefix masks, Tq &lt; Tk, sizes 1, 7, 31,
 * 33, every built-in policy family and a stochastic rounding spec, and adversarial rows: NaN/inf in
 * a future value, scores so large that FP16's finfo.min mask leaves a masked key a non-zero
 * probability, tiny rows whose probabilities are subnormal or zero.
 */
class CausalAttentionSkipTest {

  private static final OpContext CTX = OpContext.DEFAULT;
  private static final Site S = Site.of("layers", 0, "self_attn");

  private record Case(String name, Precision gemm, Precision softmax, FloatFormat storage) {}

  private static List<Case> cases() {
    List<Case> out = new ArrayList<>();
    for (String p :
        List.of(
            "fp32",
            "pytorch-fp16",
            "pytorch-bf16",
            "naive-fp16",
            "naive-bf16",
            "strict-fp16",
            "strict-bf16")) {
      PrecisionPolicy pol = PrecisionPolicy.named(p);
      out.add(
          new Case(
              p,
              pol.of(OpKind.ATTENTION, S),
              pol.of(OpKind.ATTENTION_SOFTMAX, S.child("softmax")),
              pol.storage()));
    }
    out.add(new Case("fp64", Precision.FP64, Precision.FP64, FloatFormat.FP64));
    PrecisionPolicy fp16 = PrecisionPolicy.named("pytorch-fp16");
    RoundingSpec sr = RoundingSpec.stochastic(7);
    out.add(
        new Case(
            "pytorch-fp16 stochastic",
            fp16.of(OpKind.ATTENTION, S).withRounding(sr),
            fp16.of(OpKind.ATTENTION_SOFTMAX, S.child("softmax")).withRounding(sr),
            FloatFormat.FP16));
    return out;
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 31, 33})
  void skippingGivesTheDenseBits(int t) {
    SplittableRandom rnd = new SplittableRandom(1000 + t);
    for (Case c : cases()) {
      Precision gemm = c.gemm(), soft = c.softmax();
      FloatFormat f = c.storage();
      for (int variant = 0; variant < 9; variant++) {
        int h = variant % 3 == 0 ? 4 : 2, hkv = variant % 3 == 1 ? 1 : 2, d = 1 + rnd.nextInt(9);
        if (h % hkv != 0) {
          hkv = 1;
        }
        int tk = t, tq = variant == 4 ? Math.max(1, t / 2) : t;
        boolean[] mask = mask(variant, tk, rnd);
        double amp =
            switch (variant) {
              case 5 -> 300; // FP16: raw masked scores near 65504 keep a masked key alive
              case 6 -> 1e-4; // tiny probabilities and gradients
              default -> 2;
            };
        Tensor q = random(f, tq, h * d, amp, rnd), k = random(f, tk, hkv * d, amp, rnd);
        Tensor v = random(f, tk, hkv * d, 2, rnd);
        if (variant == 7 && tk > 1) {
          v.set((long) (tk - 1) * hkv * d, Float.POSITIVE_INFINITY); // a future value: 0·inf = NaN
        }
        if (variant == 8) {
          k.set(0, Float.NaN);
        }
        String what =
            c.name() + " t=" + t + " variant " + variant + " h=" + h + " hkv=" + hkv + " d=" + d;
        CausalAttention.Forward fast =
            CausalAttention.forward(CTX, S, gemm, soft, q, k, v, h, hkv, mask);
        DenseAttention.Forward ref =
            DenseAttention.forward(CTX, S, gemm, soft, q, k, v, h, hkv, mask);
        assertSameBits(what + " out", fast.out(), ref.out());
        assertSameBits(what + " probs", fast.probs(), ref.probs());
        Tensor g = random(f, tq, h * d, variant == 6 ? 1e-3 : 1, rnd);
        CausalAttention.Grads gf =
            CausalAttention.backward(CTX, S, gemm, soft, g, q, k, v, fast.probs(), h, hkv, f, f, f);
        Tensor[] gr =
            DenseAttention.backward(CTX, S, gemm, soft, g, q, k, v, ref.probs(), h, hkv, f, f, f);
        assertSameBits(what + " dq", gf.dq(), gr[0]);
        assertSameBits(what + " dk", gf.dk(), gr[1]);
        assertSameBits(what + " dv", gf.dv(), gr[2]);
        // Only some gradients wanted: the others are not computed, the wanted ones unchanged.
        CausalAttention.Grads only =
            CausalAttention.backward(
                CTX, S, gemm, soft, g, q, k, v, fast.probs(), h, hkv, null, f, null);
        assertThat(only.dq()).isNull();
        assertSameBits(what + " dk alone", only.dk(), gr[1]);
      }
    }
  }

  /**
   * FP16, D = 1: query 0 sees key 0 with score −65024; the masked key 1 scores 7936, which the
   * finfo.min mask turns into −57568 — above the visible score, so the masked key takes almost all
   * the probability (HF's eager semantics). Skipping it would be wrong; the bound must refuse.
   */
  @org.junit.jupiter.api.Test
  void aMaskedKeyAboveTheVisibleMaximumIsNotSkipped() {
    PrecisionPolicy pol = PrecisionPolicy.named("pytorch-fp16");
    Precision gemm = pol.of(OpKind.ATTENTION, S),
        soft = pol.of(OpKind.ATTENTION_SOFTMAX, S.child("softmax"));
    FloatFormat f = FloatFormat.FP16;
    Tensor q = Tensor.of(f, Shape.of(2, 1), 256f, 1f), k = Tensor.of(f, Shape.of(2, 1), -254f, 31f);
    Tensor v = Tensor.of(f, Shape.of(2, 1), 1f, 2f);
    CausalAttention.Forward fast = CausalAttention.forward(CTX, S, gemm, soft, q, k, v, 1, 1, null);
    DenseAttention.Forward ref = DenseAttention.forward(CTX, S, gemm, soft, q, k, v, 1, 1, null);
    assertThat(ref.probs().get(1)).isEqualTo(1f); // P(query 0 → masked key 1)
    assertThat(fast.out().get(0)).isEqualTo(2f);
    assertSameBits("out", fast.out(), ref.out());
    assertSameBits("probs", fast.probs(), ref.probs());
  }

  /**
   * FP16: dP for a masked key overflows (dO·v = 400·400 > 65504), so dS = 0·(inf − Σ) = NaN there
   * and reaches dQ and dK, as in the dense algorithm; the backward must not skip it.
   */
  @org.junit.jupiter.api.Test
  void aMaskedKeyWhoseScoreGradientOverflowsIsNotSkipped() {
    PrecisionPolicy pol = PrecisionPolicy.named("pytorch-fp16");
    Precision gemm = pol.of(OpKind.ATTENTION, S),
        soft = pol.of(OpKind.ATTENTION_SOFTMAX, S.child("softmax"));
    FloatFormat f = FloatFormat.FP16;
    Tensor q = Tensor.of(f, Shape.of(2, 1), 1f, 1f), k = Tensor.of(f, Shape.of(2, 1), 1f, 2f);
    Tensor v = Tensor.of(f, Shape.of(2, 1), 1f, 400f);
    CausalAttention.Forward fast = CausalAttention.forward(CTX, S, gemm, soft, q, k, v, 1, 1, null);
    DenseAttention.Forward ref = DenseAttention.forward(CTX, S, gemm, soft, q, k, v, 1, 1, null);
    Tensor g = Tensor.of(f, Shape.of(2, 1), 400f, 1f);
    CausalAttention.Grads gf =
        CausalAttention.backward(CTX, S, gemm, soft, g, q, k, v, fast.probs(), 1, 1, f, f, f);
    Tensor[] gr =
        DenseAttention.backward(CTX, S, gemm, soft, g, q, k, v, ref.probs(), 1, 1, f, f, f);
    assertThat(gr[0].get(0)).isNaN();
    assertSameBits("dq", gf.dq(), gr[0]);
    assertSameBits("dk", gf.dk(), gr[1]);
    assertSameBits("dv", gf.dv(), gr[2]);
  }

  private static boolean[] mask(int variant, int tk, SplittableRandom rnd) {
    return switch (variant) {
      case 1, 4 -> null;
      case 2 -> prefix(tk, 1 + rnd.nextInt(tk)); // right padding
      case 3 -> { // not a prefix: no skipping, still the same bits
        boolean[] m = new boolean[tk];
        for (int j = 0; j < tk; j++) {
          m[j] = rnd.nextBoolean();
        }
        yield m;
      }
      case 6 -> prefix(tk, 0); // every key masked: uniform P over finfo.min
      default -> prefix(tk, tk);
    };
  }

  private static boolean[] prefix(int tk, int n) {
    boolean[] m = new boolean[tk];
    for (int j = 0; j < n; j++) {
      m[j] = true;
    }
    return m;
  }

  private static Tensor random(
      FloatFormat f, int rows, int cols, double amp, SplittableRandom rnd) {
    float[] x = new float[rows * cols];
    for (int i = 0; i < x.length; i++) {
      int r = rnd.nextInt(20);
      x[i] = r == 0 ? 0f : r == 1 ? -0f : (float) ((rnd.nextDouble() * 2 - 1) * amp);
    }
    return Tensor.of(f, Shape.of(rows, cols), x);
  }

  private static void assertSameBits(String what, Tensor a, Tensor b) {
    assertThat(a.format()).as(what).isEqualTo(b.format());
    assertThat(a.shape()).as(what).isEqualTo(b.shape());
    for (long i = 0; i < a.size(); i++) {
      double x = a.getDouble(i), y = b.getDouble(i);
      if (Double.doubleToRawLongBits(x) != Double.doubleToRawLongBits(y)
          && !(Double.isNaN(x) && Double.isNaN(y))) {
        throw new AssertionError(
            what + ": element " + i + " is " + x + ", the dense algorithm gives " + y);
      }
    }
  }

  /** The attention op as it was before masked keys were skipped: every score, the whole dS. */
  static final class DenseAttention {
    record Forward(Tensor out, Tensor probs) {}

    static Forward forward(
        OpContext ctx,
        Site site,
        Precision gemm,
        Precision softmax,
        Tensor q,
        Tensor k,
        Tensor v,
        int heads,
        int kvHeads,
        boolean[] keyMask) {
      int tq = Math.toIntExact(q.shape().rows()), tk = Math.toIntExact(k.shape().rows());
      int d = Math.toIntExact(q.shape().cols() / heads), group = heads / kvHeads;
      int qs = heads * d, ks = kvHeads * d;
      double[] qv = q.toDoubleArray(), kv = k.toDoubleArray(), vv = v.toDoubleArray();
      float[] qf = Reduce.floatsFor(gemm.accumulate(), qv),
          kf = Reduce.floatsFor(gemm.accumulate(), kv);
      double scale = gemm.roundCompute(1.0 / Math.sqrt(d));
      double maskMin = -gemm.output().info().maxFinite();
      double[] probs = new double[heads * tq * tk];
      double[] scores = new double[tk];
      double[] out = new double[tq * qs];
      for (int h = 0; h < heads; h++) {
        int kvh = h / group;
        for (int i = 0; i < tq; i++) {
          int row = (h * tq + i) * tk;
          for (int j = 0; j < tk; j++) {
            double s =
                gemm.roundOutput(
                    Reduce.dot(
                        gemm.accumulate(), qv, qf, i * qs + h * d, kv, kf, j * ks + kvh * d, d),
                    row + j);
            s = gemm.roundOutput(gemm.roundCompute(s * scale), row + j);
            boolean visible = j <= tk - tq + i && (keyMask == null || keyMask[j]);
            scores[j] = visible ? s : gemm.roundOutput(gemm.roundCompute(s + maskMin), row + j);
          }
          Softmax.row(softmax, scores, 0, tk, probs, row);
          for (int j = 0; j < tk; j++) {
            probs[row + j] = softmax.roundOutput(probs[row + j], row + j);
          }
          for (int j = 0; j < tk; j++) {
            Reduce.axpy(
                gemm.accumulate(), out, i * qs + h * d, probs[row + j], vv, j * ks + kvh * d, d);
          }
        }
      }
      Tensor p = Tensor.ofDoubles(softmax.output(), Shape.of(heads, tq, tk), probs);
      Tensor o = Emit.output(ctx, site, "attention", Phase.FORWARD, gemm, q.shape(), out, q, k, v);
      return new Forward(o, p);
    }

    static Tensor[] backward(
        OpContext ctx,
        Site site,
        Precision gemm,
        Precision softmax,
        Tensor dOut,
        Tensor q,
        Tensor k,
        Tensor v,
        Tensor probs,
        int heads,
        int kvHeads,
        FloatFormat dqFormat,
        FloatFormat dkFormat,
        FloatFormat dvFormat) {
      int tq = Math.toIntExact(q.shape().rows()), tk = Math.toIntExact(k.shape().rows());
      int d = Math.toIntExact(q.shape().cols() / heads), group = heads / kvHeads;
      int qs = heads * d, ks = kvHeads * d;
      double[] qv = q.toDoubleArray(), kv = k.toDoubleArray(), vv = v.toDoubleArray();
      double[] g = dOut.toDoubleArray(), pv = probs.toDoubleArray();
      float[] gf = Reduce.floatsFor(gemm.accumulate(), g),
          vf = Reduce.floatsFor(gemm.accumulate(), vv);
      double scale = gemm.roundCompute(1.0 / Math.sqrt(d));
      double[] ds = new double[pv.length];
      double[] dp = new double[tk];
      for (int h = 0; h < heads; h++) {
        int kvh = h / group;
        for (int i = 0; i < tq; i++) {
          int row = (h * tq + i) * tk;
          for (int j = 0; j < tk; j++) {
            dp[j] =
                gemm.roundOutput(
                    Reduce.dot(
                        gemm.accumulate(), g, gf, i * qs + h * d, vv, vf, j * ks + kvh * d, d),
                    row + j);
          }
          Softmax.rowBackward(softmax, pv, row, dp, 0, tk, ds, row);
          for (int j = 0; j < tk; j++) {
            ds[row + j] =
                gemm.roundOutput(
                    gemm.roundCompute(softmax.roundOutput(ds[row + j], row + j) * scale), row + j);
          }
        }
      }
      double[] dq = new double[qv.length];
      for (int h = 0; h < heads; h++) {
        int kvh = h / group;
        for (int i = 0; i < tq; i++) {
          for (int j = 0; j < tk; j++) {
            Reduce.axpy(
                gemm.accumulate(),
                dq,
                i * qs + h * d,
                ds[(h * tq + i) * tk + j],
                kv,
                j * ks + kvh * d,
                d);
          }
        }
      }
      return new Tensor[] {
        Emit.output(ctx, site, "attention.dq", Phase.BACKWARD, dqFormat, q.shape(), dq, dOut, k),
        Emit.output(
            ctx,
            site,
            "attention.dk",
            Phase.BACKWARD,
            dkFormat,
            k.shape(),
            kvGrad(gemm, heads, kvHeads, tq, tk, d, ds, qv),
            dOut,
            q),
        Emit.output(
            ctx,
            site,
            "attention.dv",
            Phase.BACKWARD,
            dvFormat,
            v.shape(),
            kvGrad(gemm, heads, kvHeads, tq, tk, d, pv, g),
            dOut,
            probs)
      };
    }

    private static double[] kvGrad(
        Precision gemm, int heads, int kvHeads, int tq, int tk, int d, double[] w, double[] x) {
      int group = heads / kvHeads, qs = heads * d, ks = kvHeads * d;
      double[] out = new double[tk * ks];
      for (int kvh = 0; kvh < kvHeads; kvh++) {
        for (int j = 0; j < tk; j++) {
          for (int h = kvh * group; h < (kvh + 1) * group; h++) {
            for (int i = 0; i < tq; i++) {
              Reduce.axpy(
                  gemm.accumulate(),
                  out,
                  j * ks + kvh * d,
                  w[(h * tq + i) * tk + j],
                  x,
                  i * qs + h * d,
                  d);
            }
          }
        }
      }
      return out;
    }
  }
}
