package io.nanscope.engine.op;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every op's backward, run fully in FP64 ({@link Precision#FP64}), against FP64 central differences
 * of its forward (budget justified in {@link GradCheck}), at last-axis sizes 1, 7, 31, 33.
 */
class OpGradientTest {

  private static final FloatFormat F64 = FloatFormat.FP64;
  private static final Precision P = Precision.FP64;
  private static final OpContext CTX = OpContext.DEFAULT;
  private static final Site S = Site.of("grad");

  private static Tensor rnd(SplittableRandom r, double scale, long... dims) {
    return GradCheck.random(r, F64, scale, dims);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 31, 33})
  void elementwise(int c) {
    SplittableRandom r = new SplittableRandom(c);
    Tensor a = rnd(r, 3, 2, c), b = rnd(r, 3, 2, c);
    GradCheck.check("add", List.of(a, b), (t, v) -> Add.apply(t, CTX, S, P, v.get(0), v.get(1)));
    GradCheck.check("mul", List.of(a, b), (t, v) -> Mul.apply(t, CTX, S, P, v.get(0), v.get(1)));
    GradCheck.check("scale", List.of(a), (t, v) -> Scale.apply(t, CTX, S, P, v.get(0), -0.375));
    GradCheck.check("silu", List.of(a), (t, v) -> Silu.apply(t, CTX, S, P, v.get(0)));
    GradCheck.check(
        "swiglu", List.of(a, b), (t, v) -> SwiGlu.apply(t, CTX, S, P, v.get(0), v.get(1)));
    GradCheck.check("cast", List.of(a), (t, v) -> Cast.apply(t, CTX, S, v.get(0), F64));
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 31, 33})
  void rowwise(int c) {
    SplittableRandom r = new SplittableRandom(100 + c);
    Tensor x = rnd(r, 3, 3, c), w = rnd(r, 2, c);
    GradCheck.check(
        "rmsnorm", List.of(x, w), (t, v) -> RmsNorm.apply(t, CTX, S, P, v.get(0), v.get(1), 1e-5));
    GradCheck.check("softmax", List.of(x), (t, v) -> Softmax.apply(t, CTX, S, P, v.get(0)));
    GradCheck.check("log_softmax", List.of(x), (t, v) -> LogSoftmax.apply(t, CTX, S, P, v.get(0)));
    int[] idx = {0, c - 1, c / 2};
    GradCheck.check("gather", List.of(x), (t, v) -> Gather.apply(t, CTX, S, P, v.get(0), idx));
    boolean[] mask = {true, false, true};
    GradCheck.check("nll", List.of(x), (t, v) -> Nll.apply(t, CTX, S, P, v.get(0), idx, mask));
    GradCheck.check(
        "cross_entropy",
        List.of(x),
        (t, v) -> CrossEntropy.apply(t, CTX, S, P, v.get(0), idx, null));
    Tensor target = LogSoftmax.forward(CTX, S, P, rnd(r, 2, 3, c));
    Tensor input = LogSoftmax.forward(CTX, S, P, rnd(r, 2, 3, c));
    GradCheck.check(
        "kl_div", List.of(input, target), (t, v) -> KlDiv.apply(t, CTX, S, P, v.get(0), v.get(1)));
    GradCheck.check("norm", List.of(x), (t, v) -> Norm.apply(t, CTX, S, P, v.get(0)));
    GradCheck.check("sum", List.of(x), (t, v) -> Sum.sum(t, CTX, S, P, v.get(0)));
    GradCheck.check("mean", List.of(x), (t, v) -> Sum.mean(t, CTX, S, P, v.get(0)));
  }

  @Test
  void embeddingAndAddAtRows() {
    SplittableRandom r = new SplittableRandom(7);
    Tensor table = rnd(r, 1, 5, 7);
    int[] tokens = {3, 0, 3, 4};
    GradCheck.check(
        "embedding", List.of(table), (t, v) -> Embedding.apply(t, CTX, S, P, v.get(0), tokens));
    Tensor x = rnd(r, 1, 4, 7), delta = rnd(r, 1, 7);
    GradCheck.check(
        "add_rows",
        List.of(x, delta),
        (t, v) -> Add.atRows(t, CTX, S, P, v.get(0), v.get(1), new int[] {1, 3}));
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 8})
  void rope(int d) {
    SplittableRandom r = new SplittableRandom(d);
    int heads = 3;
    Tensor x = rnd(r, 1, 4, heads * d);
    int[] pos = {0, 1, 5, 17};
    for (Rope.Layout layout : Rope.Layout.values()) {
      GradCheck.check(
          "rope " + layout,
          List.of(x),
          (t, v) -> Rope.apply(t, CTX, S, P, v.get(0), heads, pos, 10000, layout));
    }
  }

  @Test
  void causalAttentionWithGroupedHeadsAndPadding() {
    SplittableRandom r = new SplittableRandom(42);
    int t = 5, h = 4, hkv = 2, d = 3;
    Tensor q = rnd(r, 1, t, h * d), k = rnd(r, 1, t, hkv * d), v = rnd(r, 1, t, hkv * d);
    // key 1 is padding. (A query whose every key is masked, like query 0 under left padding, has a
    // uniform P over min-valued scores: its true FP64 derivative is 0 because q·k is absorbed by
    // −maxFinite, while backward, like PyTorch's, passes the softmax gradient through the mask.)
    boolean[] mask = {true, false, true, true, true};
    GradCheck.check(
        "attention",
        List.of(q, k, v),
        (tape, vs) ->
            CausalAttention.apply(
                tape, CTX, S, P, P, vs.get(0), vs.get(1), vs.get(2), h, hkv, mask));
    // decode-style: 2 queries at the last positions of 5 keys
    Tensor q2 = rnd(r, 1, 2, h * d);
    GradCheck.check(
        "attention tq<tk",
        List.of(q2, k, v),
        (tape, vs) ->
            CausalAttention.apply(
                tape, CTX, S, P, P, vs.get(0), vs.get(1), vs.get(2), h, hkv, null));
  }

  @Test
  void aSmallLlamaBlockThroughTheTape() {
    // x → rmsnorm → q/k/v → rope → attention → o_proj → +x → rmsnorm → gate/up → swiglu → down →
    // +residual (+ delta at row 2) → lm_head → cross-entropy: every op chained on one tape.
    SplittableRandom r = new SplittableRandom(3);
    int t = 4, c = 8, h = 2, hkv = 1, d = 4, f = 6, vocab = 5;
    Tensor x = rnd(r, 1, t, c),
        wq = rnd(r, 0.5, h * d, c),
        wk = rnd(r, 0.5, hkv * d, c),
        wv = rnd(r, 0.5, hkv * d, c);
    Tensor wo = rnd(r, 0.5, c, h * d),
        n1 = rnd(r, 1, c),
        wg = rnd(r, 0.5, f, c),
        wu = rnd(r, 0.5, f, c);
    Tensor wd = rnd(r, 0.5, c, f), head = rnd(r, 0.5, vocab, c), delta = rnd(r, 0.5, c);
    int[] pos = {0, 1, 2, 3}, targets = {1, 4, 0, 2};
    GradCheck.check(
        "llama block",
        List.of(x, wq, wd, delta),
        (tape, vs) -> {
          var xn = RmsNorm.apply(tape, CTX, S, P, vs.get(0), tape.constant(n1, "n1"), 1e-5);
          var q =
              Rope.apply(
                  tape,
                  CTX,
                  S,
                  P,
                  MatMul.apply(tape, CTX, S, P, xn, vs.get(1)),
                  h,
                  pos,
                  10000,
                  Rope.Layout.HALF);
          var k =
              Rope.apply(
                  tape,
                  CTX,
                  S,
                  P,
                  MatMul.apply(tape, CTX, S, P, xn, tape.constant(wk, "wk")),
                  hkv,
                  pos,
                  10000,
                  Rope.Layout.HALF);
          var v = MatMul.apply(tape, CTX, S, P, xn, tape.constant(wv, "wv"));
          var a = CausalAttention.apply(tape, CTX, S, P, P, q, k, v, h, hkv, null);
          var h1 =
              Add.apply(
                  tape,
                  CTX,
                  S,
                  P,
                  vs.get(0),
                  MatMul.apply(tape, CTX, S, P, a, tape.constant(wo, "wo")));
          var m =
              SwiGlu.apply(
                  tape,
                  CTX,
                  S,
                  P,
                  MatMul.apply(tape, CTX, S, P, h1, tape.constant(wg, "wg")),
                  MatMul.apply(tape, CTX, S, P, h1, tape.constant(wu, "wu")));
          var mlp =
              Add.atRows(
                  tape,
                  CTX,
                  S,
                  P,
                  MatMul.apply(tape, CTX, S, P, m, vs.get(2)),
                  vs.get(3),
                  new int[] {2});
          var h2 = Add.apply(tape, CTX, S, P, h1, mlp);
          var logits = MatMul.apply(tape, CTX, S, P, h2, tape.constant(head, "head"));
          return CrossEntropy.apply(tape, CTX, S, P, logits, targets, null);
        });
  }
}
