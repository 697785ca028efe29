package io.nanscope.editing.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.editing.RepoPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class FluencyTest {

  /** Hand-computed: a b a b → bigrams {ab: 2, ba: 1}, trigrams {aba: 1, bab: 1}. */
  @Test
  void handComputedExample() {
    List<String> t = List.of("a", "b", "a", "b");
    double h2 = Math.log(3) / Math.log(2) - 2.0 / 3.0; // −(⅔log₂⅔ + ⅓log₂⅓)
    assertThat(NgramEntropy.entropyBits(t, 2)).isCloseTo(h2, within(1e-15));
    assertThat(NgramEntropy.entropyBits(t, 3)).isEqualTo(1.0);
    assertThat(NgramEntropy.fluencyOfTokens(t))
        .isCloseTo((2.0 / 3.0 * h2 + 4.0 / 3.0 * 1.0) / 2, within(1e-15));
    // every n-gram distinct: H_n = log2(count)
    List<String> distinct = List.of("u", "v", "w", "x", "y");
    assertThat(NgramEntropy.entropyBits(distinct, 2)).isCloseTo(2.0, within(1e-15));
    assertThat(NgramEntropy.entropyBits(distinct, 3))
        .isCloseTo(Math.log(3) / Math.log(2), within(1e-15));
  }

  @Test
  void degenerateTextsScoreZero() {
    assertThat(NgramEntropy.fluency("")).isZero();
    assertThat(NgramEntropy.fluency("Hello")).isZero();
    assertThat(NgramEntropy.fluency("the the the the the")).isZero();
    assertThat(NgramEntropy.meanFluency(List.of("a b a b", "the the the")))
        .isCloseTo(NgramEntropy.fluencyOfTokens(List.of("a", "b", "a", "b")) / 2, within(1e-15));
  }

  /**
   * Against NLTK 3.8 (scripts/editing/fluency_fixtures.py): tokens must be identical; entropies
   * agree to 1e-12 (both FP64; Python sums in insertion order with math.log, as here — the budget
   * covers libm differences of ≤1 ulp per log over at most ~100 terms).
   */
  @Test
  void matchesNltkOnFixtures() throws IOException {
    JsonNode root =
        JsonMapper.builder()
            .build()
            .readTree(
                Files.readString(
                    RepoPaths.inRepo("editing/src/test/resources/eval/fluency-nltk.json")));
    int cases = 0;
    for (JsonNode c : root.get("cases").values()) {
      String text = c.get("text").stringValue();
      List<String> expected = new ArrayList<>();
      c.get("tokens").values().forEach(t -> expected.add(t.stringValue()));
      List<String> tokens = WordTokenizer.tokenize(text);
      assertThat(tokens).as(text).isEqualTo(expected);
      assertThat(NgramEntropy.entropyBits(tokens, 2))
          .as(text)
          .isCloseTo(c.get("h2").doubleValue(), within(1e-12));
      assertThat(NgramEntropy.entropyBits(tokens, 3))
          .as(text)
          .isCloseTo(c.get("h3").doubleValue(), within(1e-12));
      assertThat(NgramEntropy.fluency(text))
          .as(text)
          .isCloseTo(c.get("fluency").doubleValue(), within(1e-12));
      cases++;
    }
    assertThat(cases).isEqualTo(25);
  }

  @Test
  void sentencesSplitAfterTerminalPunctuationButNotAfterAbbreviations() {
    assertThat(WordTokenizer.sentences("Mr. Smith saw Tom. He ran! Did he? Yes."))
        .containsExactly("Mr. Smith saw Tom.", "He ran!", "Did he?", "Yes.");
    assertThat(WordTokenizer.tokenize("Mr. Smith saw J. Tom."))
        .containsExactly("Mr.", "Smith", "saw", "J.", "Tom", ".");
    assertThat(WordTokenizer.sentences("\"Hi.\" She left."))
        .containsExactly("\"Hi.\"", "She left.");
  }
}
