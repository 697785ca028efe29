package io.nanscope.editing.eval;

import java.util.List;
import java.util.Map;

/**
 * EasyEdit's fluency metric ({@code n_gram_entropy}, from ROME's evaluation;
 * docs/reference/easyedit.md §6): for n ∈ {2, 3}, H_n = −Σ f·log₂ f over the relative frequencies f
 * of the distinct word n-grams of the text ({@code nltk.word_tokenize}, {@code nltk.ngrams}, {@code
 * nltk.FreqDist}); weights [2/3, 4/3]; fluency = arithmetic mean of the weighted entropies = (⅔H₂ +
 * ⁴⁄₃H₃)/2; over several texts, the mean. A text with fewer than n tokens has no n-grams and H_n =
 * 0 (numpy's sum over an empty array).
 *
 * <p>The sum runs over n-grams in order of first occurrence (FreqDist's insertion order),
 * f·log(f)/log(2) in FP64 as numpy computes {@code -freqs * np.log(freqs) / np.log(2)}.
 */
public final class NgramEntropy {

  /** EasyEdit's orders and weights: {@code ns = [2, 3]}, {@code weights = [2/3, 4/3]}. */
  private static final int[] ORDERS = {2, 3};

  private static final double[] WEIGHTS = {2.0 / 3.0, 4.0 / 3.0};

  private NgramEntropy() {}

  /** H_n in bits of the n-grams of a token list. */
  public static double entropyBits(List<String> tokens, int n) {
    if (n < 1) {
      throw new IllegalArgumentException("n-gram order must be >= 1, got " + n);
    }
    Map<List<String>, Integer> counts = new java.util.LinkedHashMap<>();
    for (int i = 0; i + n <= tokens.size(); i++) {
      counts.merge(List.copyOf(tokens.subList(i, i + n)), 1, Integer::sum);
    }
    long total = 0;
    for (int c : counts.values()) {
      total += c;
    }
    double h = 0;
    double log2 = Math.log(2);
    for (int c : counts.values()) {
      double f = (double) c / total;
      h += -f * Math.log(f) / log2;
    }
    return h;
  }

  /** (⅔H₂ + ⁴⁄₃H₃)/2 of one text ({@code compute_n_gram_entropy}). */
  public static double fluency(String text) {
    return fluencyOfTokens(WordTokenizer.tokenize(text));
  }

  /** The same on tokens already split into words. */
  public static double fluencyOfTokens(List<String> tokens) {
    double sum = 0;
    for (int i = 0; i < ORDERS.length; i++) {
      sum += entropyBits(tokens, ORDERS[i]) * WEIGHTS[i];
    }
    return sum / ORDERS.length;
  }

  /** Mean fluency over texts ({@code n_gram_entropy(gen_texts)}, arithmetic aggregation). */
  public static double meanFluency(List<String> texts) {
    if (texts.isEmpty()) {
      throw new IllegalArgumentException("no texts to score");
    }
    double sum = 0;
    for (String t : texts) {
      sum += fluency(t);
    }
    return sum / texts.size();
  }
}
