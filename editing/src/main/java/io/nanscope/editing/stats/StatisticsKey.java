package io.nanscope.editing.stats;

import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.RopePermutation;
import io.nanscope.llama.weights.TensorDigest;
import io.nanscope.llama.weights.WeightNames;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The content key of a cached key second moment C of layer L: the sha256 of everything the keys
 * (the inputs of layer L's {@code down_proj}) depend on, so that a cache file is reused only for
 * the same computation, whatever the model's folder is called.
 *
 * <p>The keys at layer L are {@code silu(x W_gateᵀ) ⊙ (x W_upᵀ)} with x the RMS-normed residual
 * stream after layer L's attention, so they depend on the token embedding, every tensor of layers
 * 0…L−1, and layer L's norms, attention and gate/up projections — not on layer L's {@code
 * down_proj} (the weight ROME edits), nor on later layers, the final norm or the classifier. An
 * edit of layer L therefore keeps its C; an edit of an earlier layer gets a new one.
 *
 * <p>Hashed, one line each: every such tensor's HF name, dtype, shape and sha256 ({@link
 * TensorDigest}, wq/wk rows in the HF order, so a llama2.c file and its {@code convert}ed directory
 * share C); the tokenizer (every piece, score bits and type, special ids, normalisation, merges);
 * the corpus file's sha256, the precision policy and the maximum text length. The sample count and
 * the stored dtype are in the file name already.
 */
public final class StatisticsKey {

  private StatisticsKey() {}

  /**
   * The key, 64 hex digits.
   *
   * @param weights the model as the statistics would be computed on (its storage format)
   * @param corpusSha256 sha256 of the corpus file
   * @param policy the precision policy's name
   * @param maxLength the longest text, in tokens
   */
  public static String of(
      LlamaWeights weights,
      int layer,
      Tokenizer tok,
      String corpusSha256,
      String policy,
      int maxLength) {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK has no SHA-256", e);
    }
    LlamaWeights w = weights;
    RopeLayout layout = w.config().ropeLayout();
    line(md, "nanscope key statistics v1 layer " + layer);
    tensor(md, WeightNames.Global.EMBEDDING.hf(), w.embedding());
    for (int l = 0; l <= layer; l++) {
      for (WeightNames.Layer t : WeightNames.Layer.values()) {
        if (l < layer || t != WeightNames.Layer.W_DOWN) {
          int heads = t.ropeHeads(w.config());
          // one permuted copy at a time (not the whole model's wq/wk at once)
          tensor(
              md,
              t.hf(l),
              heads == 0 || layout == RopeLayout.HF_ROTATE_HALF
                  ? w.get(l, t)
                  : RopePermutation.permuteRows(
                      w.get(l, t), heads, layout, RopeLayout.HF_ROTATE_HALF));
        }
      }
    }
    line(
        md,
        "tokenizer "
            + tok.vocabSize()
            + " bos "
            + tok.bosId()
            + " eos "
            + tok.eosId()
            + " unk "
            + tok.unkId()
            + " byteFallback "
            + tok.byteFallback()
            + " "
            + tok.normalization());
    for (int id = 0; id < tok.vocabSize(); id++) {
      line(
          md,
          id
              + " "
              + Integer.toHexString(Float.floatToRawIntBits(tok.score(id)))
              + " "
              + tok.type(id)
              + " "
              + tok.piece(id).length()
              + ":"
              + tok.piece(id)); // length-prefixed: a piece may hold a line break
    }
    for (int[] m : tok.mergesByPriority()) {
      line(md, "merge " + m[0] + " " + m[1] + " " + m[2]);
    }
    line(md, "corpus " + corpusSha256);
    line(md, "policy " + policy);
    line(md, "max length " + maxLength);
    return HexFormat.of().formatHex(md.digest());
  }

  private static void tensor(MessageDigest md, String name, Tensor t) {
    line(
        md,
        String.format(
            Locale.ROOT,
            "%s %s %s %s",
            name,
            t.format().name(),
            t.shape(),
            TensorDigest.sha256(t)));
  }

  private static void line(MessageDigest md, String s) {
    md.update((s + "\n").getBytes(StandardCharsets.UTF_8));
  }
}
