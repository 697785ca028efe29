package io.nanscope.llama.generate;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The building blocks of sampling, with Hugging Face {@code generate} / PyTorch semantics. Logits
 * and probabilities are vectors of V floats; nothing here modifies its argument unless it says so.
 */
public final class Sampling {

  /** PyTorch's limit on categories for {@code torch.multinomial}. */
  public static final int MAX_CATEGORIES = 1 << 24;

  private Sampling() {}

  /**
   * {@code torch.argmax}: the index of the largest value, the lowest index on ties; NaN counts as
   * larger than everything (the first NaN wins), as in PyTorch. (llama2.c's {@code argmax} skips
   * NaN instead; the two agree on finite logits.)
   */
  public static int argmax(float[] x) {
    if (x.length == 0) {
      throw new IllegalArgumentException("argmax of an empty vector");
    }
    int best = 0;
    for (int i = 0; i < x.length; i++) {
      if (Float.isNaN(x[i])) {
        return i;
      }
      if (x[i] > x[best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * Softmax {@code p_i = exp(x_i - max) / Σ_j exp(x_j - max)}: exponentials in FP64, the sum in
   * FP64 in index order, each p_i rounded once to FP32. -inf entries give 0; a NaN or +inf entry
   * makes the result NaN, so that {@link #multinomial} reports it as PyTorch does.
   */
  public static float[] softmax(float[] logits) {
    float max = Float.NEGATIVE_INFINITY;
    boolean nan = false;
    for (float v : logits) {
      nan |= Float.isNaN(v);
      max = Math.max(max, v);
    }
    float[] p = new float[logits.length];
    if (nan || max == Float.POSITIVE_INFINITY) {
      Arrays.fill(p, Float.NaN);
      return p;
    }
    double[] e = new double[logits.length];
    double sum = 0;
    for (int i = 0; i < logits.length; i++) {
      e[i] = Math.exp((double) logits[i] - max);
      sum += e[i];
    }
    for (int i = 0; i < logits.length; i++) {
      p[i] = (float) (e[i] / sum);
    }
    return p;
  }

  /** HF {@code TemperatureLogitsWarper}: {@code logits / t}, in place; {@code t} must be > 0. */
  public static void applyTemperature(float[] logits, float t) {
    if (!(t > 0) || Float.isInfinite(t)) {
      throw new IllegalArgumentException(
          "temperature is " + t + ", expected a finite value > 0 (use greedy for 0)");
    }
    for (int i = 0; i < logits.length; i++) {
      logits[i] /= t;
    }
  }

  /**
   * HF {@code TopKLogitsWarper}, in place: entries below the k-th largest become -inf (entries tied
   * with the k-th largest stay, as in {@code scores < topk(scores, k)[..., -1]}). k ≥ V: no-op.
   */
  public static void applyTopK(float[] logits, int k) {
    if (k <= 0) {
      throw new IllegalArgumentException("top-k is " + k + ", expected a positive integer");
    }
    if (k >= logits.length) {
      return;
    }
    float[] sorted = logits.clone();
    Arrays.sort(sorted); // ascending; NaN last
    float kth = sorted[sorted.length - k];
    for (int i = 0; i < logits.length; i++) {
      if (logits[i] < kth) {
        logits[i] = Float.NEGATIVE_INFINITY;
      }
    }
  }

  /**
   * HF {@code TopPLogitsWarper} (nucleus), in place: sort ascending (stable), cumulative softmax in
   * that order, remove every entry whose cumulative probability is {@code <= 1 - p}, always keep
   * the largest one.
   */
  public static void applyTopP(float[] logits, float p) {
    if (!(p > 0 && p <= 1)) {
      throw new IllegalArgumentException("top-p is " + p + ", expected 0 < p <= 1");
    }
    if (p == 1f) {
      return;
    }
    Integer[] order = new Integer[logits.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Float.compare(logits[a], logits[b])); // stable
    float[] sortedLogits = new float[logits.length];
    for (int i = 0; i < order.length; i++) {
      sortedLogits[i] = logits[order[i]];
    }
    float[] probs = softmax(sortedLogits);
    float cum = 0;
    float threshold = 1 - p;
    for (int i = 0; i < order.length - 1; i++) { // the last (largest) is always kept
      cum += probs[i];
      if (cum <= threshold) {
        logits[order[i]] = Float.NEGATIVE_INFINITY;
      }
    }
  }

  /**
   * {@code torch.multinomial(probs, 1)} (without replacement, HF's call): the same checks in the
   * same order, with PyTorch's messages, then the same algorithm, {@code argmax(p_i / q_i)} with
   * q_i ~ Exp(1) drawn from {@code rng} (the Gumbel-max trick: index i wins with probability p_i /
   * Σp). The draws come from {@code rng}, not PyTorch's generator, so the same seed gives a
   * different (equally distributed) stream than torch.
   *
   * @throws InvalidDistributionException for NaN, inf or a negative entry, or a zero sum
   */
  public static int multinomial(float[] probs, RandomGenerator rng) {
    if (probs.length == 0) {
      throw new IllegalArgumentException(
          "cannot sample n_sample > prob_dist.size(-1) samples without replacement");
    }
    if (probs.length > MAX_CATEGORIES) {
      throw new IllegalArgumentException("number of categories cannot exceed 2^24");
    }
    float max = Float.NEGATIVE_INFINITY;
    float min = Float.POSITIVE_INFINITY;
    boolean nan = false;
    double sum = 0;
    for (float v : probs) {
      nan |= Float.isNaN(v);
      max = Math.max(max, v);
      min = Math.min(min, v);
      sum += v;
    }
    // is_valid = (max < inf) & (min >= 0); a NaN makes max NaN and the test false
    if (nan || !(max < Float.POSITIVE_INFINITY) || !(min >= 0)) {
      throw new InvalidDistributionException(InvalidDistributionException.NOT_FINITE_OR_NEGATIVE);
    }
    if (!(sum > 0)) {
      throw new InvalidDistributionException(InvalidDistributionException.ZERO_SUM);
    }
    int best = -1;
    double bestKey = -1;
    for (int i = 0; i < probs.length; i++) {
      double q = -Math.log1p(-rng.nextDouble()); // Exp(1): 1 - U is in (0, 1]
      double key = probs[i] / q;
      if (key > bestKey) {
        bestKey = key;
        best = i;
      }
    }
    return best;
  }
}
