package io.nanscope.editing.stats;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.IntConsumer;

/**
 * The key second moment C = E[k kᵀ] of ROME (Meng et al. 2022, eq. 2; EasyEdit layer_stats.py): k is
 * the input of {@code layers.L.mlp.down_proj} at every token of every text of a corpus (BOS
 * included, as EasyEdit's tokenizer adds it), accumulated in FP64 in a fixed order.
 */
public final class KeyStatistics {

  private KeyStatistics() {}

  /**
   * Runs the model over {@code texts} (each truncated to {@code maxTokens} tokens) and accumulates k kᵀ.
   *
   * @param progress called with the index of each finished text
   */
  public static SecondMoment compute(
      LlamaModel model, Tokenizer tok, PrecisionPolicy policy, OpContext ctx, int layer,
      List<String> texts, int maxTokens, Optional<SecondMomentProvenance> provenance, IntConsumer progress) {
    int f = model.config().hiddenDim();
    SecondMomentAccumulator acc = new SecondMomentAccumulator(f);
    for (int i = 0; i < texts.size(); i++) {
      int[] ids = tok.encode(texts.get(i), true, false);
      ids = Arrays.copyOf(ids, Math.min(ids.length, Math.min(maxTokens, model.config().maxSeqLen())));
      Hooks hooks = Hooks.none();
      for (int p = 0; p < ids.length; p++) {
        hooks = hooks.captureDownProjInput(layer, 0, p);
      }
      SequenceOutput out = model.forward(new SequenceBatch(new int[][] {ids}), policy, ctx, null, hooks);
      float[] keys = new float[ids.length * f];
      for (int p = 0; p < ids.length; p++) {
        System.arraycopy(out.captured(Hooks.downProjInputKey(layer, 0, p)), 0, keys, p * f, f);
      }
      acc.accumulate(keys, ids.length, f);
      progress.accept(i);
    }
    return acc.result(provenance);
  }
}
