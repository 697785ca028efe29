package io.nanscope.llama.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.math.BigInteger;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SamplingTest {

  static final float NEG_INF = Float.NEGATIVE_INFINITY;

  @Test
  void argmaxTakesTheLowestIndexOnTiesAndTheFirstNanLikeTorch() {
    assertThat(Sampling.argmax(new float[] {1, 3, 3, 2})).isEqualTo(1);
    assertThat(Sampling.argmax(new float[] {-0f, 0f})).isZero();
    assertThat(Sampling.argmax(new float[] {NEG_INF, NEG_INF})).isZero();
    assertThat(Sampling.argmax(new float[] {1, Float.NaN, 9, Float.NaN})).isEqualTo(1);
    assertThat(Sampling.argmax(new float[] {1, Float.POSITIVE_INFINITY, 9})).isEqualTo(1);
    assertThat(Llama2cSampler.argmax(new float[] {1, Float.NaN, 9, 9}))
        .isEqualTo(2); // run.c skips NaN
  }

  @ParameterizedTest
  @ValueSource(floats = {Float.NaN, Float.POSITIVE_INFINITY, -1e-30f, -0.5f})
  void multinomialRejectsLikeTorchWithItsExactMessage(float bad) {
    float[] p = {0.25f, bad, 0.5f};
    assertThatThrownBy(() -> Sampling.multinomial(p, new SplittableRandom(1)))
        .isInstanceOf(InvalidDistributionException.class)
        .hasMessage("probability tensor contains either `inf`, `nan` or element < 0");
  }

  @Test
  void multinomialOtherChecksInTorchOrder() {
    assertThatThrownBy(
            () -> Sampling.multinomial(new float[] {0f, 0f, -0f}, new SplittableRandom(1)))
        .isInstanceOf(InvalidDistributionException.class)
        .hasMessage("invalid multinomial distribution (sum of probabilities <= 0)");
    // a NaN is reported before a zero sum, as torch checks validity first
    assertThatThrownBy(
            () -> Sampling.multinomial(new float[] {0f, Float.NaN}, new SplittableRandom(1)))
        .hasMessage(InvalidDistributionException.NOT_FINITE_OR_NEGATIVE);
    assertThatThrownBy(() -> Sampling.multinomial(new float[0], new SplittableRandom(1)))
        .hasMessage("cannot sample n_sample > prob_dist.size(-1) samples without replacement");
    // unnormalised weights are fine, as in torch
    assertThat(Sampling.multinomial(new float[] {0f, 5f, 0f}, new SplittableRandom(1)))
        .isEqualTo(1);
  }

  @Test
  void multinomialFrequenciesMatchTheProbabilities() {
    float[] p = {0.1f, 0.2f, 0.0f, 0.7f};
    SplittableRandom rng = new SplittableRandom(2024);
    int n = 200_000;
    int[] count = new int[p.length];
    for (int i = 0; i < n; i++) {
      count[Sampling.multinomial(p, rng)]++;
    }
    assertThat(count[2]).isZero();
    for (int i = 0; i < p.length; i++) {
      // binomial std at most sqrt(0.25/n) ≈ 0.0011: 5 sigma
      assertThat(count[i] / (double) n).as("category %d", i).isCloseTo(p[i], within(0.0056));
    }
  }

  @Test
  void softmaxAgainstFp64AndEdgeCases() {
    float[] x = {1f, 2f, 3f, NEG_INF};
    float[] p = Sampling.softmax(x);
    double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    assertThat(p[0]).isEqualTo((float) (Math.exp(1) / z));
    assertThat(p[2]).isEqualTo((float) (Math.exp(3) / z));
    assertThat(p[3]).isZero();
    assertThat(Sampling.softmax(new float[] {1f, Float.NaN})).containsOnly(Float.NaN);
    assertThat(Sampling.softmax(new float[] {1f, Float.POSITIVE_INFINITY})).containsOnly(Float.NaN);
    assertThat(Sampling.softmax(new float[] {1e38f, -1e38f}))
        .containsExactly(1f, 0f); // no overflow
  }

  @Test
  void topKKeepsTiesWithTheKthValueLikeHf() {
    float[] x = {5, 1, 3, 3, 4, 0};
    Sampling.applyTopK(x, 3);
    assertThat(x).containsExactly(5, NEG_INF, 3, 3, 4, NEG_INF);
    float[] y = {1, 2};
    Sampling.applyTopK(y, 5);
    assertThat(y).containsExactly(1, 2);
  }

  @Test
  void topPRemovesTheTailWhoseMassIsAtMostOneMinusP() {
    // probs 0.5, 0.3, 0.15, 0.05 (logits = log p). HF with top_p 0.75: ascending cumsum
    // 0.05, 0.20, 0.50, 1.0; remove where <= 0.25 → ids of 0.05 and 0.15 go, 0.3 stays.
    float[] x = {
      (float) Math.log(0.3), (float) Math.log(0.05), (float) Math.log(0.5), (float) Math.log(0.15)
    };
    float[] y = x.clone();
    Sampling.applyTopP(y, 0.75f);
    assertThat(y).containsExactly(x[0], NEG_INF, x[2], NEG_INF);
    float[] z = x.clone();
    Sampling.applyTopP(z, 0.45f); // threshold 0.55: the cumulative 0.50 (p = 0.3) goes too
    assertThat(z).containsExactly(NEG_INF, NEG_INF, x[2], NEG_INF);
    float[] tiny = x.clone();
    Sampling.applyTopP(tiny, 0.01f); // the top one is always kept
    assertThat(tiny).containsExactly(NEG_INF, NEG_INF, x[2], NEG_INF);
  }

  @Test
  void samplerIsGreedyAtTemperatureZeroAndReproducibleFromItsSeed() {
    float[] logits = {0.1f, 2f, 1.9f, -3f};
    assertThat(Sampler.greedy().start().next(logits)).isEqualTo(1);
    Sampler s = new Sampler(1.0f, 3, 0.95f, 77);
    Sampler.Session a = s.start();
    Sampler.Session b = s.start();
    int[] seen = new int[4];
    for (int i = 0; i < 500; i++) {
      int t = a.next(logits);
      assertThat(b.next(logits)).isEqualTo(t);
      seen[t]++;
    }
    assertThat(seen[3]).isZero(); // removed by top-k 3
    assertThat(seen[1]).isPositive();
    assertThat(seen[2]).isPositive();
    assertThatThrownBy(() -> new Sampler(-1f, 0, 1f, 0))
        .hasMessageContaining("temperature is -1.0");
    assertThatThrownBy(() -> new Sampler(1f, 0, 0f, 0)).hasMessageContaining("top-p is 0.0");
    assertThatThrownBy(() -> new Sampler(1f, 0, 1f, 1).start().next(new float[] {1f, Float.NaN}))
        .isInstanceOf(InvalidDistributionException.class)
        .hasMessage(InvalidDistributionException.NOT_FINITE_OR_NEGATIVE);
  }

  /** run.c's xorshift64*, recomputed with BigInteger arithmetic modulo 2^64. */
  @Test
  void llama2cRngMatchesAnIndependentBigIntegerTranscription() {
    BigInteger mod = BigInteger.ONE.shiftLeft(64);
    BigInteger s = BigInteger.valueOf(1234567);
    Llama2cSampler sampler = new Llama2cSampler(1f, 0.9f, 1234567);
    for (int i = 0; i < 20; i++) {
      s = s.xor(s.shiftRight(12));
      s = s.xor(s.shiftLeft(25)).mod(mod);
      s = s.xor(s.shiftRight(27));
      long expected =
          s.multiply(new BigInteger("2545F4914F6CDD1D", 16))
              .mod(mod)
              .shiftRight(32)
              .longValueExact();
      assertThat(sampler.randomU32()).isEqualTo(expected);
    }
    Llama2cSampler f = new Llama2cSampler(1f, 0.9f, 99);
    for (int i = 0; i < 1000; i++) {
      assertThat(f.randomF32()).isBetween(0f, 0.99999994f);
    }
  }

  @Test
  void llama2cSampleMultAndTopp() {
    float[] p = {0.1f, 0.6f, 0.3f};
    assertThat(Llama2cSampler.sampleMult(p, 0.05f)).isZero();
    assertThat(Llama2cSampler.sampleMult(p, 0.1f)).isEqualTo(1); // coin < cdf is strict
    assertThat(Llama2cSampler.sampleMult(p, 0.69f)).isEqualTo(1);
    assertThat(Llama2cSampler.sampleMult(p, 0.71f)).isEqualTo(2);
    // top-p 0.5: sorted 0.6 (cum 0.6 > 0.5 stops) → only id 1
    assertThat(Llama2cSampler.sampleTopp(p, 0.5f, 0.99f)).isEqualTo(1);
    // top-p 0.8: 0.6, 0.3 (cum 0.9 > 0.8); coin 0.7 · 0.9 = 0.63 ≥ 0.6 → id 2
    assertThat(Llama2cSampler.sampleTopp(p, 0.8f, 0.7f)).isEqualTo(2);
    assertThat(new Llama2cSampler(0f, 0.9f, 1).next(new float[] {1f, 4f, 4f})).isEqualTo(1);
  }
}
