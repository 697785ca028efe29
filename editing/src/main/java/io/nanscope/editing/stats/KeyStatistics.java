package io.nanscope.editing.stats;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.MatMul;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
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
 * The key second moment C = E[k kᵀ] of ROME (Meng et al. 2022, eq. 2; EasyEdit layer_stats.py): k
 * is the input of {@code layers.L.mlp.down_proj} at every token of every text of a corpus (BOS
 * included, as EasyEdit's tokenizer adds it). Per text, KᵀK of its T keys is one FP32 GEMM (the
 * engine's {@code MatMul.gram}, threaded by {@code ctx}); the texts' Gram matrices are summed in
 * FP64 in corpus order, so the result does not depend on the thread count.
 */
public final class KeyStatistics {

  /** Tracer site of the per-text Gram matrix. */
  public static final Site GRAM_SITE = Site.of("mom2", "gram");

  /** How {@link #compute} sums, as recorded in a second moment's provenance. */
  public static final String ACCUMULATION =
      "per text: K^T K by the FP32 GEMM kernel; across texts: FP64 sum in corpus order";

  private KeyStatistics() {}

  /**
   * Runs the model over {@code texts} (each truncated to {@code maxTokens} tokens) and accumulates
   * k kᵀ.
   *
   * @param progress called with the index of each finished text
   */
  public static SecondMoment compute(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      List<String> texts,
      int maxTokens,
      Optional<SecondMomentProvenance> provenance,
      IntConsumer progress) {
    int f = model.config().hiddenDim();
    SecondMomentAccumulator acc = new SecondMomentAccumulator(f);
    for (int i = 0; i < texts.size(); i++) {
      int[] ids = tok.encode(texts.get(i), true, false);
      ids =
          Arrays.copyOf(ids, Math.min(ids.length, Math.min(maxTokens, model.config().maxSeqLen())));
      Hooks hooks = Hooks.none();
      for (int p = 0; p < ids.length; p++) {
        hooks = hooks.captureDownProjInput(layer, 0, p);
      }
      SequenceOutput out =
          model.forward(new SequenceBatch(new int[][] {ids}), policy, ctx, null, hooks);
      float[] keys = new float[ids.length * f];
      for (int p = 0; p < ids.length; p++) {
        System.arraycopy(out.captured(Hooks.downProjInputKey(layer, 0, p)), 0, keys, p * f, f);
      }
      Tensor k = Tensor.of(FloatFormat.FP32, Shape.of(ids.length, f), keys); // (T, F)
      Tensor g = MatMul.gram(ctx, GRAM_SITE, Precision.FP32, k); // (F, F)
      acc.addGram(g.toFloatArray(), ids.length);
      progress.accept(i);
    }
    return acc.result(provenance);
  }
}
