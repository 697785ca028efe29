package io.nanscope.editing.stats;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.RepoPaths;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The GEMM path of C = E[k kᵀ] on the embedded model against the scalar FP64 reference accumulator.
 */
class KeyStatisticsTest {

  static final Path ROOT = RepoPaths.root();

  @Test
  void gemmPathMatchesTheFp64ReferenceWithinTheFp32ReductionBudget() throws Exception {
    LlamaModel model = LlamaModel.load(ROOT.resolve("models/stories260K"), FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(ROOT.resolve("models/stories260K"));
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    List<String> texts =
        TextCorpus.read(ROOT.resolve("configs/corpus/tinystories-corpus.txt")).first(12);
    int layer = 1, maxTokens = 256, f = model.config().hiddenDim();

    SecondMoment fast =
        KeyStatistics.compute(
            model,
            tok,
            fp32,
            OpContext.DEFAULT,
            layer,
            texts,
            maxTokens,
            Optional.empty(),
            i -> {});
    SecondMoment twoThreads =
        KeyStatistics.compute(
            model,
            tok,
            fp32,
            new OpContext(Tracer.NONE, 2, -1),
            layer,
            texts,
            maxTokens,
            Optional.empty(),
            i -> {});

    // Reference: the same keys, summed one product at a time in FP64; and Σ|k_i k_j| for the
    // budget.
    SecondMomentAccumulator ref = new SecondMomentAccumulator(f);
    double[] abs = new double[f * f];
    int maxRows = 0;
    for (String text : texts) {
      int[] ids = tok.encode(text, true, false);
      ids =
          java.util.Arrays.copyOf(
              ids, Math.min(ids.length, Math.min(maxTokens, model.config().maxSeqLen())));
      maxRows = Math.max(maxRows, ids.length);
      Hooks hooks = Hooks.none();
      for (int p = 0; p < ids.length; p++) {
        hooks = hooks.captureDownProjInput(layer, 0, p);
      }
      SequenceOutput out =
          model.forward(new SequenceBatch(new int[][] {ids}), fp32, OpContext.DEFAULT, null, hooks);
      float[] keys = new float[ids.length * f];
      for (int p = 0; p < ids.length; p++) {
        float[] k = out.captured(Hooks.downProjInputKey(layer, 0, p));
        System.arraycopy(k, 0, keys, p * f, f);
        for (int i = 0; i < f; i++) {
          for (int j = 0; j < f; j++) {
            abs[i * f + j] += Math.abs((double) k[i] * k[j]);
          }
        }
      }
      ref.accumulate(keys, ids.length, f);
    }
    SecondMoment exact = ref.result(Optional.empty());

    assertThat(fast.count()).isEqualTo(exact.count());
    assertThat(maxRows)
        .isGreaterThan(100); // the texts are long enough for the FP32 reduction to matter
    // Budget: each text's G[i, j] is an FP32 reduction of T ≤ maxRows products (error ≤
    // T·2⁻²⁴·Σ|p|),
    // rounded once to FP32 (2⁻²⁴·|G|); the FP64 sums across texts add nothing comparable.
    double u = Math.scalb(1.0, -24);
    double[] s = fast.sum();
    double[] e = exact.sum();
    for (int i = 0; i < f * f; i++) {
      assertThat(Math.abs(s[i] - e[i]))
          .as("S[%d]", i)
          .isLessThanOrEqualTo((maxRows + 1) * u * abs[i]);
    }
    assertThat(twoThreads.sum()).as("1 vs 2 GEMM threads").isEqualTo(s);
  }
}
