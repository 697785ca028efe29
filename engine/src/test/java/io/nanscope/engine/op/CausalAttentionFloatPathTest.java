package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.Tracer;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The all-FP32 forward of {@link CausalAttention} on floats against its double path ({@code
 * forwardDoubles}, the code every policy ran before): the same stored bits of o and P and the same
 * traced records. Zero budget: the float path claims every rounding of the double path.
 *
 * <p>Cases: sequence mode (Tq = Tk) and decode rows (Tq &lt; Tk), grouped-query heads, no mask, a
 * padding prefix mask (masked keys skipped), a mask with holes (nothing skipped), a fully masked
 * key set, skipping on and off, head sizes 1, 7, 33; inputs with NaN, ±inf, ±0 and subnormals, and
 * large scores whose masked sum overflows.
 */
class CausalAttentionFloatPathTest {

  private static final Site S = Site.of("attn_float");

  private static float[] values(int n, long seed, boolean specials, int maxExp) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] special = {
      Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, Float.MIN_VALUE, -1e-40f
    };
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      if (specials && rnd.nextInt(40) == 0) {
        v[i] = special[rnd.nextInt(special.length)];
      } else {
        double mag = Math.scalb(rnd.nextDouble(1, 2), rnd.nextInt(-12, maxExp));
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

  private static void same(
      String what, Tensor q, Tensor k, Tensor v, int h, int hkv, boolean[] mask, boolean skip) {
    Precision p = Precision.FP32;
    Collect ca = new Collect(), cb = new Collect();
    CausalAttention.Forward a =
        CausalAttention.forward(
            OpContext.DEFAULT.withTracer(ca), S, p, p, q, k, v, h, hkv, mask, skip);
    CausalAttention.Forward b =
        CausalAttention.forwardDoubles(
            OpContext.DEFAULT.withTracer(cb), S, p, p, q, k, v, h, hkv, mask, skip);
    assertThat(bytes(a.out())).as("%s: o", what).isEqualTo(bytes(b.out()));
    assertThat(bytes(a.probs())).as("%s: P", what).isEqualTo(bytes(b.probs()));
    assertThat(a.probs().format()).isEqualTo(b.probs().format());
    assertThat(ca.records).as(what).hasSameSizeAs(cb.records);
    for (int i = 0; i < ca.records.size(); i++) {
      OpRecord ra = ca.records.get(i), rb = cb.records.get(i);
      assertThat(ra.op()).isEqualTo(rb.op());
      assertThat(ra.site()).isEqualTo(rb.site());
      assertThat(bytes(ra.output())).as("%s: traced", what).isEqualTo(bytes(rb.output()));
      assertThat(bytes(ra.unrounded())).as("%s: unrounded", what).isEqualTo(bytes(rb.unrounded()));
    }
    CausalAttention.Forward untraced =
        CausalAttention.forward(OpContext.DEFAULT, S, p, p, q, k, v, h, hkv, mask, skip);
    assertThat(bytes(untraced.out())).as("%s: o untraced", what).isEqualTo(bytes(b.out()));
  }

  @Test
  void floatForwardIsTheDoublePath() {
    int cases = 0;
    for (int d : new int[] {1, 7, 33}) {
      for (int[] heads : new int[][] {{1, 1}, {4, 2}, {6, 3}}) {
        for (int[] t : new int[][] {{9, 9}, {1, 9}, {3, 12}}) {
          for (int variant = 0; variant < 5; variant++) {
            int h = heads[0], hkv = heads[1], tq = t[0], tk = t[1];
            long seed = 31L * d + 7L * h + 3L * tq + tk + 1000L * variant;
            boolean specials = variant == 3;
            int maxExp = variant == 4 ? 60 : 3; // 4: scores near FP32's max, masked sums overflow
            Tensor q =
                Tensor.of(
                    FloatFormat.FP32,
                    Shape.of(tq, h * d),
                    values(tq * h * d, seed, specials, maxExp));
            Tensor k =
                Tensor.of(
                    FloatFormat.FP32,
                    Shape.of(tk, hkv * d),
                    values(tk * hkv * d, seed + 1, specials, maxExp));
            Tensor v =
                Tensor.of(
                    FloatFormat.FP32,
                    Shape.of(tk, hkv * d),
                    values(tk * hkv * d, seed + 2, specials, 3));
            boolean[] mask =
                switch (variant) {
                  case 1 -> prefix(tk, tk - 4); // padding: the tail is skipped
                  case 2 -> holes(tk); // not a prefix: nothing skipped
                  case 3 -> prefix(tk, tk - 2);
                  default -> variant == 4 ? prefix(tk, tk - 3) : null;
                };
            for (boolean skip : new boolean[] {true, false}) {
              String what = "D=" + d + " H=" + h + "/" + hkv + " T=" + tq + "x" + tk;
              same(what + " variant=" + variant + " skip=" + skip, q, k, v, h, hkv, mask, skip);
              cases++;
            }
          }
        }
      }
      // every key masked: a uniform P of finfo.min rows
      Tensor q = Tensor.of(FloatFormat.FP32, Shape.of(2, 2 * d), values(4 * d, d, false, 3));
      Tensor k = Tensor.of(FloatFormat.FP32, Shape.of(5, d), values(5 * d, d + 1, false, 3));
      same("all masked D=" + d, q, k, k, 2, 1, new boolean[5], true);
    }
    assertThat(cases).isEqualTo(3 * 3 * 3 * 5 * 2);
  }

  @Test
  void sixteenBitPoliciesKeepTheDoublePath() {
    Precision fp16 =
        new Precision(
            FloatFormat.FP16, FloatFormat.FP32, FloatFormat.FP32, Precision.FP32.rounding());
    Tensor q = Tensor.of(FloatFormat.FP16, Shape.of(3, 8), values(24, 5, false, 3));
    Tensor k = Tensor.of(FloatFormat.FP16, Shape.of(3, 8), values(24, 6, false, 3));
    CausalAttention.Forward a =
        CausalAttention.forward(OpContext.DEFAULT, S, fp16, Precision.FP32, q, k, k, 2, 2, null);
    CausalAttention.Forward b =
        CausalAttention.forwardDoubles(
            OpContext.DEFAULT, S, fp16, Precision.FP32, q, k, k, 2, 2, null, true);
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
