package io.nanscope.llama.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.TestPaths;
import java.io.IOException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The prefix up to {@code layers.L.mlp} run once and the rest run from it give the bits of one
 * {@link LlamaModel#forward} (logits, captures, the delta's gradient), on stories260K, a
 * right-padded batch, deltas at every row's chosen token, every edit layer; budget zero ulps.
 */
class MlpOutputPrefixTest {

  static final SequenceBatch BATCH =
      new SequenceBatch(new int[][] {{1, 450, 496, 17, 9, 30}, {1, 306, 40}, {1, 5, 9, 30, 2}});
  static final int[] POS = {3, 1, 2};

  @ParameterizedTest
  @ValueSource(strings = {"fp32", "pytorch-fp16", "pytorch-bf16"})
  void prefixAndRestGiveTheBitsOfOneForward(String name) throws IOException {
    PrecisionPolicy p = PrecisionPolicy.named(name);
    LlamaModel m = LlamaModel.load(TestPaths.stories260K(), p.storage());
    OpContext ctx = OpContext.DEFAULT;
    for (int layer = 0; layer < m.config().nLayers(); layer++) {
      Tensor delta = Tensor.zeros(FloatFormat.FP32, Shape.of(m.config().dim()));
      for (long i = 0; i < delta.size(); i++) {
        delta.set(i, (float) Math.sin(i + layer) * 0.5f);
      }
      Tape full = new Tape();
      Var d1 = full.param(delta, "delta");
      Hooks hooks =
          Hooks.none().captureDownProjInput(layer, 0, POS[0]).captureMlpOutput(layer, 0, POS[0]);
      Hooks adds = Hooks.none().captureMlpOutput(layer, 1, POS[1]);
      for (int r = 0; r < BATCH.rows(); r++) {
        hooks = hooks.addToMlpOutput(layer, r, POS[r], d1);
      }
      hooks = hooks.captureResidual(m.config().nLayers() - 1, 2, POS[2]);
      SequenceOutput ref = m.forward(BATCH, p, ctx, full, hooks);
      full.backward(ref.logits(), ones(ref.logits().value()));

      LlamaModel.MlpOutputPrefix prefix =
          m.forwardToMlpOutput(
              BATCH,
              p,
              ctx,
              layer,
              Hooks.none()
                  .captureDownProjInput(layer, 0, POS[0])
                  .captureMlpOutput(layer, 0, POS[0]));
      for (int round = 0; round < 2; round++) { // the prefix is reused as it is
        Tape tape = new Tape();
        Var d2 = tape.param(delta, "delta");
        Hooks rest = adds;
        for (int r = 0; r < BATCH.rows(); r++) {
          rest = rest.addToMlpOutput(layer, r, POS[r], d2);
        }
        rest = rest.captureResidual(m.config().nLayers() - 1, 2, POS[2]);
        SequenceOutput out = m.forwardFromMlpOutput(prefix, p, ctx, tape, rest);
        tape.backward(out.logits(), ones(out.logits().value()));
        String what = name + " layer " + layer;
        assertThat(bits(out.logits().value())).as(what).isEqualTo(bits(ref.logits().value()));
        assertThat(bits(d2.grad())).as(what + " dδ").isEqualTo(bits(d1.grad()));
        String res = Hooks.residualKey(m.config().nLayers() - 1, 2, POS[2]);
        assertThat(out.captured(res)).as(what).isEqualTo(ref.captured(res));
        String k = Hooks.downProjInputKey(layer, 0, POS[0]),
            v = Hooks.mlpOutputKey(layer, 0, POS[0]);
        assertThat(prefix.captured().get(k)).as(what).isEqualTo(ref.captured(k));
        assertThat(prefix.captured().get(v)).as(what).isEqualTo(ref.captured(v));
        assertThat(out.captured(Hooks.mlpOutputKey(layer, 1, POS[1]))).as(what).isNotNull();
      }
    }
  }

  @org.junit.jupiter.api.Test
  void hooksOnTheWrongSideAreRejected() throws IOException {
    LlamaModel m = LlamaModel.load(TestPaths.stories260K(), FloatFormat.FP32);
    PrecisionPolicy p = PrecisionPolicy.named("fp32");
    Tape tape = new Tape();
    Var d = tape.param(Tensor.zeros(FloatFormat.FP32, Shape.of(m.config().dim())), "delta");
    assertThatThrownBy(() ->
            m.forwardToMlpOutput(
                BATCH, p, OpContext.DEFAULT, 2, Hooks.none().addToMlpOutput(1, 0, 1, d)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() ->
            m.forwardToMlpOutput(
                BATCH, p, OpContext.DEFAULT, 2, Hooks.none().captureResidual(2, 0, 1)))
        .isInstanceOf(IllegalArgumentException.class);
    LlamaModel.MlpOutputPrefix prefix =
        m.forwardToMlpOutput(BATCH, p, OpContext.DEFAULT, 2, Hooks.none());
    assertThatThrownBy(() ->
            m.forwardFromMlpOutput(
                prefix, p, OpContext.DEFAULT, tape, Hooks.none().captureDownProjInput(2, 0, 1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() ->
            m.forwardFromMlpOutput(
                prefix, p, OpContext.DEFAULT, tape, Hooks.none().captureResidual(1, 0, 1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static Tensor ones(Tensor like) {
    Tensor t = Tensor.zeros(FloatFormat.FP32, like.shape());
    for (long i = 0; i < t.size(); i++) {
      t.set(i, (i % 7) * 0.01f);
    }
    return t;
  }

  private static long[] bits(Tensor t) {
    long[] b = new long[Math.toIntExact(t.size())];
    for (int i = 0; i < b.length; i++) {
      b[i] = Double.doubleToRawLongBits(t.getDouble(i));
    }
    return b;
  }
}
