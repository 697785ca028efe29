package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.Overflow;
import io.nanscope.engine.format.Rounding;
import io.nanscope.engine.format.RoundingSpec;
import io.nanscope.engine.format.Subnormals;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.TensorStats;
import io.nanscope.engine.trace.Tracer;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The float paths of {@link CausalAttention} (forward and backward) against its double paths
 * ({@code forwardDoubles}, {@code backwardDoubles}: the code every policy ran before): the same
 * stored bits of o, P, dQ, dK, dV and the same traced records (outputs and unrounded values). Zero
 * budget: the float paths claim every rounding of the double paths.
 *
 * <p>Precisions: all FP32; pytorch-fp16 and pytorch-bf16 (S storage and outputs, FP32 inside) on S
 * and on FP32 inputs; a FP16 gemm with an FP32 softmax; stochastic, toward-zero, saturating and
 * flushing output roundings; FP8 outputs; FP32 with flushed subnormals. Cases: sequence mode (Tq =
 * Tk) and decode rows (Tq &lt; Tk), grouped-query heads, no mask, a padding prefix mask (masked
 * keys skipped), a mask with holes (nothing skipped), every key masked, skipping on and off, head
 * sizes 1, 7, 8, 33; inputs with NaN, ±inf, ±0 and subnormals, scores near FP32's and FP16's
 * largest values (masked sums and scores overflow), and values deep in FP16's subnormals.
 */
class CausalAttentionFloatPathTest {

  private static final Site S = Site.of("attn_float");

  /** One precision pair of the op and the format its inputs are stored in. */
  private record Case(String name, Precision gemm, Precision softmax, FloatFormat in) {}

  private static Precision inside32(FloatFormat out) {
    return new Precision(out, FloatFormat.FP32, FloatFormat.FP32);
  }

  private static final List<Case> CASES =
      List.of(
          new Case("fp32", Precision.FP32, Precision.FP32, FloatFormat.FP32),
          new Case(
              "pytorch-fp16",
              inside32(FloatFormat.FP16),
              inside32(FloatFormat.FP16),
              FloatFormat.FP16),
          new Case(
              "pytorch-bf16",
              inside32(FloatFormat.BF16),
              inside32(FloatFormat.BF16),
              FloatFormat.BF16),
          new Case(
              "fp16 on fp32 inputs",
              inside32(FloatFormat.FP16),
              inside32(FloatFormat.FP16),
              FloatFormat.FP32),
          new Case(
              "fp16 gemm, fp32 softmax",
              inside32(FloatFormat.FP16),
              Precision.FP32,
              FloatFormat.FP16),
          new Case(
              "stochastic fp16, toward-zero flushing bf16",
              inside32(FloatFormat.FP16).withRounding(RoundingSpec.stochastic(7)),
              inside32(FloatFormat.BF16)
                  .withRounding(
                      RoundingSpec.of(Rounding.TOWARD_ZERO).withSubnormals(Subnormals.FLUSH)),
              FloatFormat.FP16),
          new Case(
              "fp8 e5m2 saturating, fp8 e4m3",
              inside32(FloatFormat.FP8_E5M2)
                  .withRounding(RoundingSpec.NEAREST_EVEN.withOverflow(Overflow.SATURATE)),
              inside32(FloatFormat.FP8_E4M3),
              FloatFormat.BF16),
          new Case(
              "fp32 flushing subnormals",
              Precision.FP32.withRounding(
                  RoundingSpec.NEAREST_EVEN.withSubnormals(Subnormals.FLUSH)),
              Precision.FP32,
              FloatFormat.FP32));

  private static float[] values(int n, long seed, boolean specials, int minExp, int maxExp) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] special = {
      Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, Float.MIN_VALUE, -1e-40f
    };
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      if (specials && rnd.nextInt(40) == 0) {
        v[i] = special[rnd.nextInt(special.length)];
      } else {
        double mag = Math.scalb(rnd.nextDouble(1, 2), rnd.nextInt(minExp, maxExp));
        v[i] = (float) (rnd.nextBoolean() ? mag : -mag);
      }
    }
    return v;
  }

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
    return t == null ? null : t.segment().toArray(ValueLayout.JAVA_BYTE);
  }

  private static void sameRecords(String what, Collect ca, Collect cb) {
    assertThat(ca.records).as(what).hasSameSizeAs(cb.records);
    for (int i = 0; i < ca.records.size(); i++) {
      OpRecord ra = ca.records.get(i), rb = cb.records.get(i);
      assertThat(ra.op()).isEqualTo(rb.op());
      assertThat(ra.site()).isEqualTo(rb.site());
      assertThat(ra.output().format()).isEqualTo(rb.output().format());
      assertThat(bytes(ra.output()))
          .as("%s: traced %s", what, ra.op())
          .isEqualTo(bytes(rb.output()));
      assertThat(bytes(ra.unrounded()))
          .as("%s: unrounded %s", what, ra.op())
          .isEqualTo(bytes(rb.unrounded()));
    }
  }

  /** Forward and backward of both paths; returns whether the float path ran (not a fallback). */
  private static void same(
      String what,
      Case c,
      Tensor q,
      Tensor k,
      Tensor v,
      Tensor dOut,
      int h,
      int hkv,
      boolean[] mask,
      boolean skip,
      FloatFormat[] grads) {
    Precision g = c.gemm, p = c.softmax;
    Collect ca = new Collect(), cb = new Collect();
    CausalAttention.Forward a =
        CausalAttention.forward(
            OpContext.DEFAULT.withTracer(ca), S, g, p, q, k, v, h, hkv, mask, skip);
    CausalAttention.Forward b =
        CausalAttention.forwardDoubles(
            OpContext.DEFAULT.withTracer(cb), S, g, p, q, k, v, h, hkv, mask, skip);
    assertThat(bytes(a.out())).as("%s: o", what).isEqualTo(bytes(b.out()));
    assertThat(bytes(a.probs())).as("%s: P", what).isEqualTo(bytes(b.probs()));
    assertThat(a.out().format()).isEqualTo(b.out().format());
    assertThat(a.probs().format()).isEqualTo(b.probs().format());
    sameRecords(what + " forward", ca, cb);
    statsAsTheTracersPass(what, ca);
    CausalAttention.Forward untraced =
        CausalAttention.forward(OpContext.DEFAULT, S, g, p, q, k, v, h, hkv, mask, skip);
    assertThat(bytes(untraced.out())).as("%s: o untraced", what).isEqualTo(bytes(b.out()));

    Collect ga = new Collect(), gb = new Collect();
    CausalAttention.Grads da =
        CausalAttention.backward(
            OpContext.DEFAULT.withTracer(ga),
            S,
            g,
            p,
            dOut,
            q,
            k,
            v,
            b.probs(),
            h,
            hkv,
            grads[0],
            grads[1],
            grads[2],
            skip);
    CausalAttention.Grads db =
        CausalAttention.backwardDoubles(
            OpContext.DEFAULT.withTracer(gb),
            S,
            g,
            p,
            dOut,
            q,
            k,
            v,
            b.probs(),
            h,
            hkv,
            grads[0],
            grads[1],
            grads[2],
            skip);
    assertThat(bytes(da.dq())).as("%s: dQ", what).isEqualTo(bytes(db.dq()));
    assertThat(bytes(da.dk())).as("%s: dK", what).isEqualTo(bytes(db.dk()));
    assertThat(bytes(da.dv())).as("%s: dV", what).isEqualTo(bytes(db.dv()));
    sameRecords(what + " backward", ga, gb);
  }

  /** Records whose stats the op counted itself, and P records left to the tracer's pass. */
  private static int fusedStats, tracerStats;

  /**
   * P's stats counted in attention's own loop ({@link OpRecord#stats()}, the bit census head by
   * head) are the record the tracer's pass gives ({@code TensorStats.of(output, unrounded)}), field
   * for field; a P holding NaN or ±inf carries none.
   */
  private static void statsAsTheTracersPass(String what, Collect c) {
    for (OpRecord r : c.records) {
      if (!r.op().equals("attention.softmax")) {
        assertThat(r.stats()).as("%s: %s carries no stats", what, r.op()).isNull();
        continue;
      }
      TensorStats pass = TensorStats.of(r.output(), r.unrounded());
      if (r.stats() == null) {
        tracerStats++;
        assertThat(pass.nonFinite()).as("%s: P without stats is not finite", what).isPositive();
      } else {
        fusedStats++;
        assertThat(r.stats()).as("%s: P's stats", what).isEqualTo(pass);
        assertThat(r.statsOf()).isSameAs(r.stats());
      }
    }
  }

  @Test
  void floatPathsAreTheDoublePaths() {
    int cases = 0;
    for (Case c : CASES) {
      for (int d : new int[] {1, 7, 8, 33}) {
        for (int[] heads : new int[][] {{1, 1}, {4, 2}, {6, 3}}) {
          for (int[] t : new int[][] {{9, 9}, {1, 9}, {3, 12}}) {
            for (int variant = 0; variant < 7; variant++) {
              int h = heads[0], hkv = heads[1], tq = t[0], tk = t[1];
              long seed = 31L * d + 7L * h + 3L * tq + tk + 1000L * variant;
              boolean specials = variant == 3;
              // 4: scores near FP32's max (masked sums overflow); 5: near FP16's max (scores,
              // dP and P·v overflow in FP16); 6: deep in FP16's subnormals (scores underflow)
              int minExp = variant == 6 ? -26 : -12;
              int maxExp = variant == 4 ? 60 : variant == 5 ? 8 : variant == 6 ? -8 : 3;
              Tensor q =
                  Tensor.of(
                      c.in,
                      Shape.of(tq, h * d),
                      values(tq * h * d, seed, specials, minExp, maxExp));
              Tensor k =
                  Tensor.of(
                      c.in,
                      Shape.of(tk, hkv * d),
                      values(tk * hkv * d, seed + 1, specials, minExp, maxExp));
              Tensor v =
                  Tensor.of(
                      c.in,
                      Shape.of(tk, hkv * d),
                      values(tk * hkv * d, seed + 2, specials, minExp, Math.min(maxExp, 8)));
              Tensor dOut =
                  Tensor.of(
                      c.gemm.output(),
                      Shape.of(tq, h * d),
                      values(tq * h * d, seed + 3, specials, minExp, Math.min(maxExp, 8)));
              boolean[] mask =
                  switch (variant) {
                    case 1 -> prefix(tk, tk - 4); // padding: the tail is skipped
                    case 2 -> holes(tk); // not a prefix: nothing skipped
                    case 3 -> prefix(tk, tk - 2);
                    case 4, 6 -> prefix(tk, tk - 3);
                    default -> null;
                  };
              FloatFormat[] grads =
                  switch (variant % 3) {
                    case 0 -> new FloatFormat[] {c.in, c.in, c.in};
                    case 1 -> new FloatFormat[] {FloatFormat.FP32, null, c.gemm.output()};
                    default -> new FloatFormat[] {null, c.gemm.output(), FloatFormat.FP32};
                  };
              for (boolean skip : new boolean[] {true, false}) {
                String what =
                    c.name
                        + " D="
                        + d
                        + " H="
                        + h
                        + "/"
                        + hkv
                        + " T="
                        + tq
                        + "x"
                        + tk
                        + " variant="
                        + variant
                        + " skip="
                        + skip;
                same(what, c, q, k, v, dOut, h, hkv, mask, skip, grads);
                cases++;
              }
            }
          }
        }
        // every key masked: rows of finfo.min only, a uniform P (or NaN where the sum overflowed)
        Tensor q = Tensor.of(c.in, Shape.of(2, 2 * d), values(4 * d, d, false, -12, 3));
        Tensor k = Tensor.of(c.in, Shape.of(5, d), values(5 * d, d + 1, false, -12, 3));
        Tensor dOut =
            Tensor.of(c.gemm.output(), Shape.of(2, 2 * d), values(4 * d, d + 2, false, -12, 3));
        FloatFormat[] all = {c.in, c.in, c.in};
        same(c.name + " all masked D=" + d, c, q, k, k, dOut, 2, 1, new boolean[5], true, all);
      }
    }
    assertThat(cases).isEqualTo(CASES.size() * 4 * 3 * 3 * 7 * 2);
    assertThat(fusedStats).as("P records with the op's own stats").isGreaterThan(1000);
    assertThat(tracerStats).as("P records left to the tracer (NaN or inf)").isPositive();
  }

  @Test
  void naivePoliciesKeepTheDoublePath() {
    // compute in FP16: exp and the quotients round once from double to FP16, which a float
    // intermediate would round twice; the op keeps its double path (same result either way)
    Precision naive = new Precision(FloatFormat.FP16, FloatFormat.FP32, FloatFormat.FP16);
    Tensor q = Tensor.of(FloatFormat.FP16, Shape.of(3, 8), values(24, 5, false, -12, 3));
    Tensor k = Tensor.of(FloatFormat.FP16, Shape.of(3, 8), values(24, 6, false, -12, 3));
    CausalAttention.Forward a =
        CausalAttention.forward(OpContext.DEFAULT, S, naive, naive, q, k, k, 2, 2, null);
    CausalAttention.Forward b =
        CausalAttention.forwardDoubles(
            OpContext.DEFAULT, S, naive, naive, q, k, k, 2, 2, null, true);
    assertThat(bytes(a.out())).isEqualTo(bytes(b.out()));
    assertThat(a.out().format()).isEqualTo(FloatFormat.FP16);
  }

  private static boolean[] prefix(int tk, int n) {
    boolean[] m = new boolean[tk];
    for (int j = 0; j < n; j++) {
      m[j] = true;
    }
    return m;
  }

  private static boolean[] holes(int tk) {
    boolean[] m = new boolean[tk];
    for (int j = 0; j < tk; j++) {
      m[j] = j % 3 != 1;
    }
    return m;
  }
}
