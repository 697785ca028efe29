package io.nanscope.llama.generate;

import java.util.SplittableRandom;

/**
 * Picks the next token from logits (V) like Hugging Face {@code generate}: temperature 0 is greedy
 * ({@link Sampling#argmax}); otherwise temperature, then top-k, then top-p (the order of HF's
 * warpers), softmax, and {@link Sampling#multinomial} with a generator seeded once, so a run is
 * reproducible from its seed.
 *
 * @param temperature 0 for greedy, else > 0
 * @param topK 0 for no top-k filtering, else k ≥ 1
 * @param topP 1 for no nucleus filtering, else 0 < p < 1
 * @param seed seed of the multinomial draws
 */
public record Sampler(float temperature, int topK, float topP, long seed) {

  public Sampler {
    if (!(temperature >= 0) || Float.isInfinite(temperature)) {
      throw new IllegalArgumentException(
          "temperature is " + temperature + ", expected a finite value >= 0");
    }
    if (topK < 0) {
      throw new IllegalArgumentException(
          "top-k is " + topK + ", expected 0 (off) or a positive integer");
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top-p is " + topP + ", expected 0 < p <= 1 (1 = off)");
    }
  }

  /** Greedy decoding. */
  public static Sampler greedy() {
    return new Sampler(0f, 0, 1f, 0);
  }

  /** A stateful sampler of this configuration (its generator starts from {@link #seed}). */
  public Session start() {
    return new Session(this);
  }

  /** The sampler with its random stream: call {@link #next} once per generated token. */
  public static final class Session {
    private final Sampler config;
    private final SplittableRandom rng;

    private Session(Sampler config) {
      this.config = config;
      this.rng = new SplittableRandom(config.seed());
    }

    /** The next token id for {@code logits} (V); the array is not modified. */
    public int next(float[] logits) {
      if (config.temperature() == 0f) {
        return Sampling.argmax(logits);
      }
      float[] x = logits.clone();
      Sampling.applyTemperature(x, config.temperature());
      if (config.topK() > 0) {
        Sampling.applyTopK(x, config.topK());
      }
      if (config.topP() < 1f) {
        Sampling.applyTopP(x, config.topP());
      }
      return Sampling.multinomial(Sampling.softmax(x), rng);
    }
  }
}
