package io.nanscope.llama.generate;

import java.util.Arrays;

/**
 * llama2.c {@code run.c}'s sampler, for comparisons with it: temperature 0 is its {@code argmax}
 * (strict {@code >}, lowest index on ties, NaN never chosen after index 0); otherwise logits /
 * temperature, its FP32 softmax, one coin from its xorshift generator, then {@code sample_mult}
 * (first index whose cumulative probability exceeds the coin) or, for 0 < topp < 1, {@code
 * sample_topp} (candidates above {@code (1 - topp) / (V - 1)}, sorted by probability descending,
 * truncated where the cumulative probability first exceeds topp, coin scaled by that mass).
 */
public final class Llama2cSampler {

  private final float temperature;
  private final float topp;
  private long state;

  /**
   * @param seed run.c's {@code rng_seed} (must not be 0: xorshift would stay at 0)
   */
  public Llama2cSampler(float temperature, float topp, long seed) {
    if (!(temperature >= 0)) {
      throw new IllegalArgumentException("temperature is " + temperature + ", expected >= 0");
    }
    if (seed == 0) {
      throw new IllegalArgumentException(
          "seed 0 gives xorshift a fixed point; use a non-zero seed");
    }
    this.temperature = temperature;
    this.topp = topp;
    this.state = seed;
  }

  /** run.c {@code random_u32}: xorshift64* (12, 25, 27), upper 32 bits of the product. */
  long randomU32() {
    state ^= state >>> 12;
    state ^= state << 25;
    state ^= state >>> 27;
    return (state * 0x2545F4914F6CDD1DL) >>> 32;
  }

  /** run.c {@code random_f32}: 24 random bits / 2^24, in [0, 1). */
  float randomF32() {
    return (randomU32() >>> 8) / 16777216.0f;
  }

  /** run.c {@code argmax}. */
  public static int argmax(float[] p) {
    int maxI = 0;
    float maxP = p[0];
    for (int i = 1; i < p.length; i++) {
      if (p[i] > maxP) {
        maxI = i;
        maxP = p[i];
      }
    }
    return maxI;
  }

  /** run.c {@code softmax}, in place, all FP32: subtract max, expf, sum, divide. */
  static void softmaxInPlace(float[] x) {
    float max = x[0];
    for (int i = 1; i < x.length; i++) {
      if (x[i] > max) {
        max = x[i];
      }
    }
    float sum = 0f;
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) Math.exp(x[i] - max);
      sum += x[i];
    }
    for (int i = 0; i < x.length; i++) {
      x[i] /= sum;
    }
  }

  /** The next token for {@code logits} (V); the array is not modified. */
  public int next(float[] logits) {
    if (temperature == 0f) {
      return argmax(logits);
    }
    float[] p = logits.clone();
    for (int i = 0; i < p.length; i++) {
      p[i] /= temperature;
    }
    softmaxInPlace(p);
    float coin = randomF32();
    return topp <= 0 || topp >= 1 ? sampleMult(p, coin) : sampleTopp(p, topp, coin);
  }

  static int sampleMult(float[] p, float coin) {
    float cdf = 0f;
    for (int i = 0; i < p.length; i++) {
      cdf += p[i];
      if (coin < cdf) {
        return i;
      }
    }
    return p.length - 1; // rounding errors
  }

  static int sampleTopp(float[] p, float topp, float coin) {
    float cutoff = (1.0f - topp) / (p.length - 1);
    Integer[] idx = new Integer[p.length];
    int n0 = 0;
    for (int i = 0; i < p.length; i++) {
      if (p[i] >= cutoff) {
        idx[n0++] = i;
      }
    }
    Integer[] cand = Arrays.copyOf(idx, n0);
    Arrays.sort(cand, (a, b) -> Float.compare(p[b], p[a])); // descending, stable
    float cum = 0f;
    int last = n0 - 1;
    for (int i = 0; i < n0; i++) {
      cum += p[cand[i]];
      if (cum > topp) {
        last = i;
        break;
      }
    }
    float r = coin * cum;
    float cdf = 0f;
    for (int i = 0; i <= last; i++) {
      cdf += p[cand[i]];
      if (r < cdf) {
        return cand[i];
      }
    }
    return cand[last];
  }
}
