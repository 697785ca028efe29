package io.nanscope.llama.generate;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.DecodeSession;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * EasyEdit's {@code generate_fast} ({@code easyeditor/util/generate.py}; docs/reference/easyedit.md
 * §2), the sampler behind ROME's context templates and the fluency metric — and the call that
 * raised {@code probability tensor contains either `inf`, `nan` or element < 0} in EasyEdit#290:
 *
 * <pre>
 * inputs = [p for p in prompts for _ in range(n_gen_per_prompt)], each tokenised with BOS
 * while len(ids) < max_out_len:                 # counts BOS + prompt + generated
 *     p  = softmax(logits[-1])                  # FP32
 *     tk = topk(p, top_k); p = p[tk] / sum(p[tk])
 *     ids.append(tk[multinomial(p, 1)])         # PyTorch's validation and message
 * text = NFKD(decode(ids, skip_special_tokens)).replace("\n\n", " ").replace("&lt;|endoftext|&gt;", "")
 * </pre>
 *
 * <p>Differences from EasyEdit, on purpose: each sequence is decoded on its own with its KV cache,
 * so prompts of different lengths never attend to padding (EasyEdit passes {@code
 * attention_mask=None} for Llama, which attends to the pad tokens and reads the last logits at a
 * pad position for shorter prompts); the multinomial draws come from {@code rng} (sequence by
 * sequence, step by step), not torch's generator, so a seed gives a different, equally distributed
 * stream. No stop token, as EasyEdit.
 *
 * <p>An instance binds the sampler to one model, tokenizer, precision policy and op context: the
 * sampler of ROME's context templates and of the fluency metric. It is where the fp16 bug's crash
 * surfaces: NaN logits make the top-k probabilities NaN and the multinomial throws PyTorch's
 * message. The static forms take the same arguments per call.
 */
public final class GenerateFast {

  private final LlamaModel model;
  private final Tokenizer tok;
  private final PrecisionPolicy policy;
  private final OpContext ctx;

  /** The sampler bound to one model, tokenizer, precision policy and op context. */
  public GenerateFast(LlamaModel model, Tokenizer tok, PrecisionPolicy policy, OpContext ctx) {
    this.model = model;
    this.tok = tok;
    this.policy = policy;
    this.ctx = ctx;
  }

  /** Texts in EasyEdit's order: prompt 0's samples, then prompt 1's, and so on. */
  public List<String> generate(
      List<String> prompts, int nGenPerPrompt, int maxOutLen, int topK, RandomGenerator rng) {
    return generate(model, tok, prompts, nGenPerPrompt, maxOutLen, topK, rng, policy, ctx);
  }

  /**
   * One sampled continuation of {@code prompt} (prompt included), {@code maxOutLen} tokens with
   * BOS.
   */
  public String generateOne(String prompt, int maxOutLen, int topK, RandomGenerator rng) {
    return generate(List.of(prompt), 1, maxOutLen, topK, rng).getFirst();
  }

  /** One generated sequence: every token (BOS, prompt, generated) and its decoded text. */
  public record Generation(int[] tokens, String text) {}

  /** The texts of {@link #generations}, in input order. */
  public static List<String> generate(
      LlamaModel model,
      Tokenizer tok,
      List<String> prompts,
      int nGenPerPrompt,
      int maxOutLen,
      int topK,
      RandomGenerator rng,
      PrecisionPolicy policy,
      OpContext ctx) {
    return generations(model, tok, prompts, nGenPerPrompt, maxOutLen, topK, rng, policy, ctx)
        .stream()
        .map(Generation::text)
        .toList();
  }

  /**
   * Generates {@code nGenPerPrompt} continuations of each prompt (prompt-major order, as EasyEdit).
   *
   * @throws InvalidDistributionException when the top-k probabilities hold NaN, inf or a negative
   *     value (non-finite logits), with PyTorch's message
   */
  public static List<Generation> generations(
      LlamaModel model,
      Tokenizer tok,
      List<String> prompts,
      int nGenPerPrompt,
      int maxOutLen,
      int topK,
      RandomGenerator rng,
      PrecisionPolicy policy,
      OpContext ctx) {
    Objects.requireNonNull(rng, "rng");
    if (nGenPerPrompt < 1 || topK < 1) {
      throw new IllegalArgumentException(
          "n_gen_per_prompt is "
              + nGenPerPrompt
              + " and top_k is "
              + topK
              + ": both must be at least 1");
    }
    if (maxOutLen > model.config().maxSeqLen()) {
      throw new IllegalArgumentException(
          "max_out_len "
              + maxOutLen
              + " is more than the model's "
              + model.config().maxSeqLen()
              + " positions");
    }
    List<Generation> out = new ArrayList<>();
    for (String prompt : prompts) {
      int[] start = tok.encode(prompt, true, false);
      for (int g = 0; g < nGenPerPrompt; g++) {
        int[] ids = Arrays.copyOf(start, Math.max(start.length, maxOutLen));
        int n = start.length;
        DecodeSession d = model.decoder(policy, ctx);
        float[] logits = null;
        for (int i = 0; i < n; i++) {
          logits = d.next(ids[i]);
        }
        while (n < maxOutLen) {
          ids[n] = sampleTopK(logits, topK, rng);
          n++;
          if (n < maxOutLen) {
            logits = d.next(ids[n - 1]);
          }
        }
        int[] tokens = Arrays.copyOf(ids, n);
        out.add(new Generation(tokens, text(tok, tokens)));
      }
    }
    return out;
  }

  /** softmax, top-k (ties to the lower index), renormalise, then {@link Sampling#multinomial}. */
  static int sampleTopK(float[] logits, int k, RandomGenerator rng) {
    float[] p = Sampling.softmax(logits);
    int[] top = topK(p, Math.min(k, p.length));
    float[] q = new float[top.length];
    float sum = 0f;
    for (int i = 0; i < top.length; i++) {
      sum += p[top[i]];
    }
    for (int i = 0; i < top.length; i++) {
      q[i] = p[top[i]] / sum;
    }
    return top[Sampling.multinomial(q, rng)];
  }

  /** Indices of the k largest values, largest first; NaN counts as largest (torch.topk). */
  static int[] topK(float[] p, int k) {
    int[] best = new int[k];
    Arrays.fill(best, -1);
    for (int i = 0; i < p.length; i++) {
      int at = k;
      while (at > 0 && (best[at - 1] < 0 || greater(p[i], p[best[at - 1]]))) {
        at--;
      }
      if (at < k) {
        System.arraycopy(best, at, best, at + 1, k - at - 1);
        best[at] = i;
      }
    }
    return best;
  }

  private static boolean greater(float a, float b) {
    return Float.isNaN(a) ? !Float.isNaN(b) : a > b;
  }

  /** EasyEdit's post-processing of {@code tok.decode(x, skip_special_tokens=True)}. */
  static String text(Tokenizer tok, int[] tokens) {
    String s = Normalizer.normalize(tok.decode(tokens), Normalizer.Form.NFKD);
    return s.replace("\n\n", " ").replace("<|endoftext|>", "");
  }
}
