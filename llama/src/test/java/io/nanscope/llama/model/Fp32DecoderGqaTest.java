package io.nanscope.llama.model;

import static io.nanscope.llama.model.LlamaModelTest.assertBitIdentical;
import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.config.RopeLayout;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The FP32 fast decode path on a grouped-query-attention model (a seeded {@link TinyLlama}: 4 query
 * heads share 2 KV heads, so query head h reads KV head h / 2), where stories260K (H = 8, Hkv = 4)
 * is the only other check. Budget: bit-identical at every position, against the op path's decoder,
 * against sequence mode, and across the fast path's variants (packed vector, packed scalar twins,
 * streamed on 1 and 2 threads).
 */
class Fp32DecoderGqaTest {

  static final PrecisionPolicy FP32 = PrecisionPolicy.named("fp32");

  @ParameterizedTest
  @EnumSource(RopeLayout.class)
  void fastPathGivesTheBitsOfTheOpPathAndOfSequenceMode(RopeLayout layout) {
    LlamaModel m = TinyLlama.model(FloatFormat.FP32, layout, 20261206L + layout.ordinal());
    assertThat(m.config().nKvHeads()).isLessThan(m.config().nHeads()).isGreaterThan(1);
    int n = m.config().maxSeqLen(); // every position: the caches grow past 16 and 32
    int[] tokens = new int[n];
    SplittableRandom rnd = new SplittableRandom(layout.ordinal());
    for (int i = 0; i < n; i++) {
      tokens[i] = rnd.nextInt(m.config().vocabSize());
    }
    DecodeSession fast = m.decoder(FP32, OpContext.DEFAULT);
    assertThat(fast).isInstanceOf(Fp32Decoder.class);
    DecodeSession ops = m.opDecoder(FP32, OpContext.DEFAULT);
    DecodeSession scalar =
        new Fp32Decoder(m.weights(), OpContext.DEFAULT, true, new AtomicLong(Long.MAX_VALUE));
    DecodeSession vector = new Fp32Decoder(m.weights(), OpContext.DEFAULT, true, new AtomicLong());
    DecodeSession streamed2 = new Fp32Decoder(m.weights(), OpContext.DEFAULT.withThreads(2), false);
    SequenceOutput seq =
        m.forward(SequenceBatch.of(tokens), FP32, OpContext.DEFAULT, null, Hooks.none());
    for (int pos = 0; pos < n; pos++) {
      float[] want = ops.next(tokens[pos]);
      String at = layout + " position " + pos;
      assertBitIdentical(seq.logitsAt(0, pos), want, "sequence mode vs op decoder, " + at);
      assertBitIdentical(fast.next(tokens[pos]), want, "fast path, " + at);
      assertBitIdentical(scalar.next(tokens[pos]), want, "scalar twins, " + at);
      assertBitIdentical(vector.next(tokens[pos]), want, "vector kernels, " + at);
      assertBitIdentical(streamed2.next(tokens[pos]), want, "streamed, 2 threads, " + at);
    }
  }

  /**
   * Eligibility comes from the policy alone: all FP32 (every kind and every site override) takes
   * the fast path, one override in another precision does not.
   */
  @ParameterizedTest
  @EnumSource(RopeLayout.class)
  void thePolicyDecidesTheFastPath(RopeLayout layout) {
    LlamaModel m = TinyLlama.model(FloatFormat.FP32, layout, 7);
    assertThat(FP32.isAllFp32()).isTrue();
    assertThat(PrecisionPolicy.uniform("all-fp32", Precision.FP32).isAllFp32()).isTrue();
    assertThat(PrecisionPolicy.named("pytorch-bf16").isAllFp32()).isFalse();
    assertThat(m.decoder(PrecisionPolicy.named("pytorch-fp16"), OpContext.DEFAULT))
        .isNotInstanceOf(Fp32Decoder.class);
    PrecisionPolicy fp32Override =
        PrecisionPolicy.fromMap(
            Map.of(
                "name", "fp32-sites", "sites", Map.of("layers.*.mlp", Map.of("output", "fp32"))));
    assertThat(fp32Override.isAllFp32()).isTrue();
    assertThat(m.decoder(fp32Override, OpContext.DEFAULT)).isInstanceOf(Fp32Decoder.class);
    PrecisionPolicy override =
        PrecisionPolicy.fromMap(
            Map.of(
                "name",
                "fp32-but-down-proj",
                "sites",
                Map.of("layers.*.mlp.down_proj", Map.of("output", "bf16"))));
    assertThat(override.isAllFp32()).isFalse();
    assertThat(m.decoder(override, OpContext.DEFAULT)).isNotInstanceOf(Fp32Decoder.class);
  }
}
