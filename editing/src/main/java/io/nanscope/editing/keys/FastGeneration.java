package io.nanscope.editing.keys;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.generate.Sampling;
import io.nanscope.llama.model.DecodeSession;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * EasyEdit's {@code generate_fast} (util/generate.py): for each prompt, {@code nGenPerPrompt}
 * samples; at every step {@code softmax(logits)} → top-k → renormalise → {@code torch.multinomial(p,
 * 1)}, until the sequence holds {@code maxOutLen} tokens (BOS and prompt included); returns the
 * decoded text, prompt included, NFKD-normalised, with {@code "\n\n"} replaced by a space.
 *
 * <p>This is the call site of the fp16 bug's crash: NaN logits make every probability NaN and
 * {@link Sampling#multinomial} throws PyTorch's
 * {@code probability tensor contains either `inf`, `nan` or element < 0}.
 *
 * <p>Differences, stated: each sequence is decoded on its own (EasyEdit batches the prompts and, for
 * Llama, passes no attention mask, so shorter prompts attend to padding); the random stream is
 * {@code rng}, not torch's.
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
    List<String> out = new ArrayList<>();
    for (String prompt : prompts) {
      for (int g = 0; g < nGenPerPrompt; g++) {
        out.add(generateOne(prompt, maxOutLen, topK, rng));
      }
    }
    return out;
  }

  /** One sampled continuation of {@code prompt}. */
  public String generateOne(String prompt, int maxOutLen, int topK, RandomGenerator rng) {
    int[] ids = tok.encode(prompt, true, false);
    List<Integer> seq = new ArrayList<>();
    for (int id : ids) {
      seq.add(id);
    }
    DecodeSession s = model.decoder(policy, ctx);
    float[] logits = null;
    for (int id : ids) {
      logits = s.next(id);
    }
    while (seq.size() < maxOutLen) {
      float[] p = Sampling.softmax(logits);
      int[] top = topK(p, Math.min(topK, p.length));
      float[] pk = new float[top.length];
      double sum = 0;
      for (int i = 0; i < top.length; i++) {
        pk[i] = p[top[i]];
        sum += pk[i];
      }
      for (int i = 0; i < top.length; i++) {
        pk[i] = (float) (pk[i] / sum);
      }
      int next = top[Sampling.multinomial(pk, rng)];
      seq.add(next);
      if (seq.size() < maxOutLen) {
        logits = s.next(next);
      }
    }
    int[] all = seq.stream().mapToInt(Integer::intValue).toArray();
    int[] body = Arrays.stream(all).filter(t -> t != tok.bosId() && t != tok.eosId()).toArray();
    String text = Normalizer.normalize(tok.decode(body), Normalizer.Form.NFKD);
    return text.replace("\n\n", " ");
  }

  /**
   * {@code torch.topk(p, k).indices}: the k largest, largest first; NaN counts as the largest, and
   * ties keep the lower index first.
   */
  static int[] topK(float[] p, int k) {
    Integer[] idx = new Integer[p.length];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = i;
    }
    Arrays.sort(idx, (a, b) -> {
      float x = p[a];
      float y = p[b];
      boolean xn = Float.isNaN(x);
      boolean yn = Float.isNaN(y);
      if (xn != yn) {
        return xn ? -1 : 1;
      }
      int c = xn ? 0 : Float.compare(y, x);
      return c != 0 ? c : Integer.compare(a, b);
    });
    int[] out = new int[k];
    for (int i = 0; i < k; i++) {
      out[i] = idx[i];
    }
    return out;
  }
}
