package io.nanscope.llama.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.weights.SyntheticWeights;
import org.junit.jupiter.api.Test;

/**
 * The FP32 decoder sizes its buffers by the positions decoded, not by the config's maximum: a
 * config.json declaring 2^28 positions used to overflow int while allocating the score buffer.
 */
class DecoderBuffersTest {

  private static LlamaConfig withPositions(LlamaConfig c, int positions) {
    return new LlamaConfig(
        c.dim(),
        c.hiddenDim(),
        c.nLayers(),
        c.nHeads(),
        c.nKvHeads(),
        c.vocabSize(),
        positions,
        c.normEps(),
        c.ropeTheta(),
        c.tieWordEmbeddings(),
        c.torchDtype(),
        c.ropeLayout());
  }

  @Test
  void aHugeDeclaredContextDecodesTheSameBitsAsASmallOne() {
    LlamaConfig small = withPositions(LlamaConfig.tiny("float32"), 64);
    LlamaConfig huge = withPositions(small, 1 << 28);
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    DecodeSession a =
        LlamaModel.of(small, SyntheticWeights.inMemory(small, FloatFormat.FP32, 7))
            .decoder(fp32, OpContext.DEFAULT);
    DecodeSession b =
        LlamaModel.of(huge, SyntheticWeights.inMemory(huge, FloatFormat.FP32, 7))
            .decoder(fp32, OpContext.DEFAULT);
    for (int t = 0; t < 40; t++) { // past the first growth of the caches (16, 32, 64)
      int token = (t * 7 + 1) % small.vocabSize();
      assertThat(b.next(token)).as("position %d", t).containsExactly(a.next(token));
    }
  }
}
