package io.nanscope.editing.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TokenMetricsTest {

  @Test
  void teacherForcedAccuracyIsTheShareOfMatchingTokens() {
    assertThat(TokenMetrics.teacherForcedAccuracy(new int[] {5, 9, 2}, new int[] {5, 9, 3}))
        .isEqualTo(2.0 / 3.0);
    assertThat(TokenMetrics.teacherForcedAccuracy(new int[] {1}, new int[] {1})).isEqualTo(1.0);
    assertThat(TokenMetrics.teacherForcedAccuracy(new int[] {1, 2}, new int[] {3, 4})).isZero();
    assertThatThrownBy(() -> TokenMetrics.teacherForcedAccuracy(new int[] {1}, new int[] {1, 2}))
        .hasMessageContaining("predicted has 1 tokens but target has 2");
    assertThatThrownBy(() -> TokenMetrics.teacherForcedAccuracy(new int[0], new int[0]))
        .hasMessageContaining("0/0");
  }

  @Test
  void localityIsTheShareOfUnchangedArgmaxTokens() {
    assertThat(TokenMetrics.unchangedShare(new int[] {7, 7, 1, 4}, new int[] {7, 8, 1, 4}))
        .isEqualTo(0.75);
  }

  @Test
  void argmaxPredictionsReadTheShiftedPositions() {
    // T = 4 tokens [p0, p1, a0, a1], V = 3; rows 1 and 2 predict a0 and a1
    float[] logits = {
      9, 0, 0, // row 0 predicts p1 (not used)
      0, 2, 1, // row 1 -> 1
      3, 3, 1, // row 2: tie -> lowest index 0
      0, 0, 9 // row 3 predicts past the answer (not used)
    };
    assertThat(TokenMetrics.argmaxPredictions(logits, 3, 2, 2)).containsExactly(1, 0);
    float[] nan = {0, 1, 2, 5, Float.NaN, Float.NaN, 0, 0, 0};
    assertThat(TokenMetrics.argmaxPredictions(nan, 3, 2, 1))
        .containsExactly(1); // first NaN wins, as torch.argmax
    float[] inf = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 1, 0, 0, 0};
    assertThat(TokenMetrics.argmaxPredictions(inf, 3, 1, 1)).containsExactly(1);
    assertThatThrownBy(() -> TokenMetrics.argmaxPredictions(logits, 3, 3, 2))
        .hasMessageContaining("within the input of 4 tokens");
    assertThatThrownBy(() -> TokenMetrics.argmaxPredictions(logits, 5, 1, 1))
        .hasMessageContaining("V = 5");
    assertThatThrownBy(() -> TokenMetrics.argmaxPredictions(logits, 3, 0, 1))
        .hasMessageContaining("answer tokens 0..0");
  }
}
