package io.nanscope.llama.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.TestPaths;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** stories260K: decode vs sequence mode, padding, threads, hooks, low-precision policies. */
class LlamaModelTest {

  static LlamaModel model;
  static Tokenizer tok;
  static final PrecisionPolicy FP32 = PrecisionPolicy.named("fp32");

  @BeforeAll
  static void load() throws IOException {
    model = LlamaModel.load(TestPaths.stories260K(), FloatFormat.FP32);
    tok = Tokenizer.readFromDirectory(TestPaths.stories260K());
  }

  static int[] tokens(String s) {
    return tok.encode(s, true, false);
  }

  static void assertBitIdentical(float[] a, float[] b, String what) {
    assertThat(a.length).isEqualTo(b.length);
    for (int i = 0; i < a.length; i++) {
      if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
        throw new AssertionError(what + ": first difference at " + i + ": " + a[i] + " vs " + b[i]);
      }
    }
  }

  /**
   * Budget: bit-identical. Both modes run the same ops, and every kernel reduces a row the same way
   * alone or in a batch.
   */
  @ParameterizedTest
  @ValueSource(strings = {"fp32", "pytorch-fp16", "pytorch-bf16"})
  void decodeEqualsSequenceModeAtEveryPosition(String policyName) {
    PrecisionPolicy p = PrecisionPolicy.named(policyName);
    int[] t = tokens("Once upon a time, Lily saw a big dog in the park");
    SequenceOutput seq =
        model.forward(SequenceBatch.of(t), p, OpContext.DEFAULT, null, Hooks.none());
    DecodeSession d = model.decoder(p, OpContext.DEFAULT);
    for (int pos = 0; pos < t.length; pos++) {
      assertThat(d.position()).isEqualTo(pos);
      assertBitIdentical(d.next(t[pos]), seq.logitsAt(0, pos), policyName + " position " + pos);
    }
  }

  /**
   * Budget: bit-identical; Fp32Decoder writes the ops' arithmetic out in float. Both RoPE layouts.
   */
  @Test
  void fastFp32DecoderGivesTheBitsOfTheOpPath() throws IOException {
    int[] t = tokens(GOLDEN_PROMPT);
    for (LlamaModel m :
        List.of(
            model,
            LlamaModel.of(
                model.config().withRopeLayout(RopeLayout.HF_ROTATE_HALF),
                model.weights().withRopeLayout(RopeLayout.HF_ROTATE_HALF)))) {
      DecodeSession fast = m.decoder(FP32, OpContext.DEFAULT);
      DecodeSession ops = m.opDecoder(FP32, OpContext.DEFAULT);
      assertThat(fast).isInstanceOf(Fp32Decoder.class);
      int token = t[0];
      // all 512 positions in the Meta layout; the rotate_half variant only needs its RoPE pairing
      // checked
      int n = m == model ? m.config().maxSeqLen() : 96;
      for (int pos = 0; pos < n; pos++) {
        float[] a = fast.next(token);
        assertBitIdentical(a, ops.next(token), "position " + pos);
        token = pos + 1 < t.length ? t[pos + 1] : io.nanscope.llama.generate.Sampling.argmax(a);
      }
    }
  }

  static final String GOLDEN_PROMPT = "Once upon a time";

  /**
   * Budget: bit-identical. The two weight layouts of Fp32Decoder (transposed copies through
   * dotColumns for small models, streamed storage through matmulNT for big ones) run the same
   * ordered dots; 1 and 2 threads on the streamed one. 300 positions: the key cache grows past 256.
   */
  @Test
  void packedAndStreamedWeightsGiveTheSameBits() {
    int[] t = tokens(GOLDEN_PROMPT);
    DecodeSession packed = new Fp32Decoder(model.weights(), OpContext.DEFAULT, true);
    DecodeSession streamed = new Fp32Decoder(model.weights(), OpContext.DEFAULT, false);
    DecodeSession streamed2 =
        new Fp32Decoder(model.weights(), OpContext.DEFAULT.withThreads(2), false);
    int token = t[0];
    for (int pos = 0; pos < 300; pos++) {
      float[] a = packed.next(token);
      assertBitIdentical(a, streamed.next(token), "position " + pos);
      assertBitIdentical(a, streamed2.next(token), "2 threads, position " + pos);
      token = pos + 1 < t.length ? t[pos + 1] : io.nanscope.llama.generate.Sampling.argmax(a);
    }
  }

  /**
   * Budget: bit-identical. The packed path's warm-up runs the kernels' scalar twins: always scalar,
   * never scalar, and a budget that runs out after 100 positions (switching mid-session) give the
   * same bits at each of 300 positions (the key cache grows past 256 in all three).
   */
  @Test
  void scalarWarmUpGivesTheBitsOfTheVectorKernels() {
    int[] t = tokens(GOLDEN_PROMPT);
    long perPosition = Fp32Decoder.linearMacs(model.config());
    AtomicLong never = new AtomicLong(0);
    AtomicLong always = new AtomicLong(Long.MAX_VALUE);
    AtomicLong switching = new AtomicLong(100 * perPosition);
    DecodeSession vector = new Fp32Decoder(model.weights(), OpContext.DEFAULT, true, never);
    DecodeSession scalar = new Fp32Decoder(model.weights(), OpContext.DEFAULT, true, always);
    DecodeSession mixed = new Fp32Decoder(model.weights(), OpContext.DEFAULT, true, switching);
    int token = t[0];
    for (int pos = 0; pos < 300; pos++) {
      float[] a = vector.next(token);
      assertBitIdentical(a, scalar.next(token), "scalar twins, position " + pos);
      assertBitIdentical(a, mixed.next(token), "warm-up then vector, position " + pos);
      // the mixed session took its budget in positions 0-99 and nothing after: it switched at 100
      assertThat(switching.get()).isEqualTo(pos < 100 ? (99 - pos) * perPosition : 0L);
      token = pos + 1 < t.length ? t[pos + 1] : io.nanscope.llama.generate.Sampling.argmax(a);
    }
    assertThat(never.get()).as("budget 0: vector kernels only").isZero();
    assertThat(always.get()).isEqualTo(Long.MAX_VALUE - 300 * perPosition);
  }

  @Test
  void rightPaddingDoesNotChangeRealPositions() {
    int[] a = tokens("Tom had a red ball");
    int[] b = tokens("The sun was shining and the birds were singing in the tall tree");
    SequenceOutput both =
        model.forward(
            new SequenceBatch(new int[][] {a, b}), FP32, OpContext.DEFAULT, null, Hooks.none());
    SequenceOutput alone =
        model.forward(SequenceBatch.of(a), FP32, OpContext.DEFAULT, null, Hooks.none());
    assertThat(both.length()).isEqualTo(b.length);
    for (int pos = 0; pos < a.length; pos++) {
      assertBitIdentical(both.logitsAt(0, pos), alone.logitsAt(0, pos), "row 0 position " + pos);
    }
    for (int pos = a.length; pos < b.length; pos++) {
      for (float v : both.logitsAt(0, pos)) {
        assertThat(Float.isFinite(v)).as("padding logits are finite").isTrue();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"fp32", "pytorch-fp16"})
  void logitsAreBitIdenticalWithOneAndTwoThreads(String policyName) {
    PrecisionPolicy p = PrecisionPolicy.named(policyName);
    SequenceBatch batch =
        new SequenceBatch(
            new int[][] {tokens("Once upon a time"), tokens("The cat sat on the mat")});
    float[] one =
        model
            .forward(batch, p, OpContext.DEFAULT.withThreads(1), null, Hooks.none())
            .logits()
            .value()
            .toFloatArray();
    float[] two =
        model
            .forward(batch, p, OpContext.DEFAULT.withThreads(2), null, Hooks.none())
            .logits()
            .value()
            .toFloatArray();
    assertBitIdentical(one, two, "sequence logits 1 vs 2 threads");
    DecodeSession d1 = model.decoder(p, OpContext.DEFAULT.withThreads(1));
    DecodeSession d2 = model.decoder(p, OpContext.DEFAULT.withThreads(2));
    for (int t : tokens("Once upon a time")) {
      assertBitIdentical(d1.next(t), d2.next(t), "decode logits 1 vs 2 threads");
    }
  }

  /**
   * The captured key k (down_proj input) and MLP output v satisfy v = W_down·k, checked in FP64
   * (budget: FP32 dot of F = 172 terms, |error| ≤ γ(F)·Σ|w||k| with γ ≈ F·2^-24 ≈ 1e-5 relative).
   * The residual after the last layer, normed, gives the logits (checked through a second forward).
   */
  @Test
  void hooksCaptureTheDownProjInputAndTheMlpOutput() {
    int[] a = tokens("Lily and Tom");
    int[] b = tokens("One day, a little dog named Max");
    int layer = 3, row = 1, pos = 4;
    Hooks hooks =
        Hooks.none()
            .captureDownProjInput(layer, row, pos)
            .captureMlpOutput(layer, row, pos)
            .captureResidual(layer, row, pos)
            .captureDownProjInput(0, 0, a.length - 1);
    SequenceOutput out =
        model.forward(new SequenceBatch(new int[][] {a, b}), FP32, OpContext.DEFAULT, null, hooks);
    float[] k = out.captured(Hooks.downProjInputKey(layer, row, pos));
    float[] v = out.captured(Hooks.mlpOutputKey(layer, row, pos));
    assertThat(k).hasSize(model.config().hiddenDim());
    assertThat(v).hasSize(model.config().dim());
    assertThat(out.captured("layers.3@1,4")).hasSize(model.config().dim());
    assertThat(out.capturedKeys()).hasSize(4);
    Tensor w = model.weights().layers().get(layer).wDown();
    int f = model.config().hiddenDim();
    for (int c = 0; c < v.length; c++) {
      double exact = 0, abs = 0;
      for (int j = 0; j < f; j++) {
        exact += (double) w.get((long) c * f + j) * k[j];
        abs += Math.abs((double) w.get((long) c * f + j) * k[j]);
      }
      assertThat((double) v[c])
          .isCloseTo(exact, org.assertj.core.data.Offset.offset(abs * f * 0x1p-24 + 1e-30));
    }
    assertThatThrownBy(() -> out.captured("layers.9@0,0"))
        .hasMessageContaining("captured keys are");
  }

  @Test
  void addingAtTheMlpOutputChangesOnlyLaterPositionsOfThatRow() {
    int[] a = tokens("Tom had a red ball");
    SequenceBatch batch = new SequenceBatch(new int[][] {a, a});
    Tensor delta = Tensor.zeros(FloatFormat.FP32, Shape.of(model.config().dim()));
    for (int j = 0; j < delta.size(); j++) {
      delta.set(j, 0.5f * ((j % 3) - 1));
    }
    int pos = 2;
    Hooks hooks =
        Hooks.none()
            .addToMlpOutput(1, 0, pos, new Tape().constant(delta, "delta"))
            .captureMlpOutput(1, 0, pos);
    SequenceOutput edited = model.forward(batch, FP32, OpContext.DEFAULT, null, hooks);
    SequenceOutput plain =
        model.forward(
            batch, FP32, OpContext.DEFAULT, null, Hooks.none().captureMlpOutput(1, 0, pos));
    // capture is before the addition
    assertBitIdentical(
        edited.captured(Hooks.mlpOutputKey(1, 0, pos)),
        plain.captured(Hooks.mlpOutputKey(1, 0, pos)),
        "capture");
    for (int t = 0; t < a.length; t++) {
      assertBitIdentical(edited.logitsAt(1, t), plain.logitsAt(1, t), "other row");
      if (t < pos) {
        assertBitIdentical(edited.logitsAt(0, t), plain.logitsAt(0, t), "earlier position");
      } else {
        assertThat(edited.logitsAt(0, t)).isNotEqualTo(plain.logitsAt(0, t));
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"pytorch-fp16", "pytorch-bf16", "naive-fp16", "naive-bf16"})
  void lowPrecisionPoliciesRunAndStayFinite(String policyName) throws IOException {
    PrecisionPolicy p = PrecisionPolicy.named(policyName);
    LlamaModel m = LlamaModel.load(TestPaths.stories260K(), p.storage());
    assertThat(m.weights().layers().get(0).wq().format()).isEqualTo(p.storage());
    int[] t = tokens("Once upon a time, there was a little girl named Lily");
    SequenceOutput out = m.forward(SequenceBatch.of(t), p, OpContext.DEFAULT, null, Hooks.none());
    float[] logits = out.logits().value().toFloatArray();
    // always FP32 (the exact upcast); the naive policies compute lm_head's output in storage format
    assertThat(out.logits().value().format()).isEqualTo(FloatFormat.FP32);
    if (policyName.startsWith("naive")) {
      for (float v : logits) {
        assertThat(p.storage().round(v)).isEqualTo(v);
      }
    }
    float[] ref =
        model
            .forward(SequenceBatch.of(t), FP32, OpContext.DEFAULT, null, Hooks.none())
            .logits()
            .value()
            .toFloatArray();
    double maxDiff = 0;
    for (int i = 0; i < logits.length; i++) {
      assertThat(Float.isFinite(logits[i])).as("logit %d", i).isTrue();
      maxDiff = Math.max(maxDiff, Math.abs(logits[i] - ref[i]));
    }
    // a 16-bit run is not the FP32 run, but close: BF16 keeps 8 bits, logits here are O(10)
    assertThat(maxDiff).isGreaterThan(0).isLessThan(policyName.endsWith("bf16") ? 3.0 : 0.5);
  }

  @Test
  void writableDownProjIsAHeapCopySwappedInOnce() {
    LlamaModel m =
        TinyLlama.model(FloatFormat.FP32, io.nanscope.llama.config.RopeLayout.HF_ROTATE_HALF, 3);
    Tensor before = m.weights().layers().get(1).wDown();
    Tensor w = m.writableDownProj(1);
    assertThat(w).isNotSameAs(before);
    assertThat(m.writableDownProj(1)).isSameAs(w);
    assertThat(m.weights().layers().get(1).wDown()).isSameAs(w);
    assertThat(w.toFloatArray()).isEqualTo(before.toFloatArray());
    SequenceBatch batch = SequenceBatch.of(1, 4, 7);
    float[] l0 =
        m.forward(batch, FP32, OpContext.DEFAULT, null, Hooks.none())
            .logits()
            .value()
            .toFloatArray();
    w.set(0, w.get(0) + 1f);
    float[] l1 =
        m.forward(batch, FP32, OpContext.DEFAULT, null, Hooks.none())
            .logits()
            .value()
            .toFloatArray();
    assertThat(l1).isNotEqualTo(l0);
  }

  @Test
  void badInputIsRejectedWithAMessage() {
    assertThatThrownBy(() -> new SequenceBatch(new int[][] {{1, 2}, {}}))
        .hasMessageContaining("row 1");
    assertThatThrownBy(() ->
            model.forward(
                SequenceBatch.of(1, 2),
                FP32,
                OpContext.DEFAULT,
                null,
                Hooks.none().captureMlpOutput(0, 0, 5)))
        .hasMessageContaining("position 5");
    assertThatThrownBy(() -> model.decoder(FP32, OpContext.DEFAULT).next(512))
        .hasMessageContaining("vocabulary");
  }
}
