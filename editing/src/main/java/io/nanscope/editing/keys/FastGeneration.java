package io.nanscope.editing.keys;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * EasyEdit's {@code generate_fast} bound to one model, tokenizer and precision policy: the sampler of
 * ROME's context templates and of the fluency metric (see {@link GenerateFast} for the semantics and
 * the stated differences from EasyEdit). It is where the fp16 bug's crash surfaces: NaN logits make
 * the top-5 probabilities NaN and the multinomial throws PyTorch's message.
 */
public final class FastGeneration {

  private final LlamaModel model;
  private final Tokenizer tok;
  private final PrecisionPolicy policy;
  private final OpContext ctx;

  public FastGeneration(LlamaModel model, Tokenizer tok, PrecisionPolicy policy, OpContext ctx) {
    this.model = model;
    this.tok = tok;
    this.policy = policy;
    this.ctx = ctx;
  }

  /** Texts in EasyEdit's order: prompt 0's samples, then prompt 1's, and so on. */
  public List<String> generate(
      List<String> prompts, int nGenPerPrompt, int maxOutLen, int topK, RandomGenerator rng) {
    return GenerateFast.generate(model, tok, prompts, nGenPerPrompt, maxOutLen, topK, rng, policy, ctx);
  }

  /** One sampled continuation of {@code prompt} (prompt included), {@code maxOutLen} tokens with BOS. */
  public String generateOne(String prompt, int maxOutLen, int topK, RandomGenerator rng) {
    return generate(List.of(prompt), 1, maxOutLen, topK, rng).getFirst();
  }
}
