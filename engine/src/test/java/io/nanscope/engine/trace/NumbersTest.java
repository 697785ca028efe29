package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.function.DoubleFunction;
import org.junit.jupiter.api.Test;

/** One spelling for non-finite values in every style, and each style's finite layout. */
class NumbersTest {

  private static final List<DoubleFunction<String>> STYLES =
      List.of(
          Numbers::human,
          Numbers::binades,
          v -> Numbers.fixed(v, 3),
          Numbers::compact,
          Numbers::significant,
          Numbers::decimal4,
          Numbers::general4);

  @Test
  void everyStyleSpellsNonFiniteValuesTheSameWay() {
    for (DoubleFunction<String> style : STYLES) {
      assertThat(style.apply(Double.NaN)).isEqualTo("NaN");
      assertThat(style.apply(Double.POSITIVE_INFINITY)).isEqualTo("inf");
      assertThat(style.apply(Double.NEGATIVE_INFINITY)).isEqualTo("-inf");
    }
    assertThatThrownBy(() -> Numbers.nonFinite(1.0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void finiteLayouts() {
    assertThat(Numbers.human(66975.28125)).isEqualTo("66,975.281");
    assertThat(Numbers.human(65504)).isEqualTo("65,504");
    assertThat(Numbers.human(5.960464477539063e-8)).isEqualTo("5.9605e-08");
    assertThat(Numbers.binades(0.3571)).isEqualTo("0.36");
    assertThat(Numbers.fixed(0.18, 3)).isEqualTo("0.180");
    assertThat(Numbers.compact(0)).isEqualTo("0");
    assertThat(Numbers.compact(34.0312)).isEqualTo("34.03");
    assertThat(Numbers.compact(0.005)).isEqualTo("5.000e-03");
    assertThat(Numbers.significant(65500)).isEqualTo("65500");
    assertThat(Numbers.significant(34.0312)).isEqualTo("34.03");
    assertThat(Numbers.significant(1.25e-5)).isEqualTo("1.250e-05");
    assertThat(Numbers.decimal4(2.07944)).isEqualTo("2.0794");
    assertThat(Numbers.decimal4(1e7)).isEqualTo("1.0000e+07");
    assertThat(Numbers.general4(5e-5)).isEqualTo("5.000e-05");
    assertThat(Numbers.general4(482.4)).isEqualTo("482.4");
    assertThat(Numbers.general4(0)).isEqualTo("0.000");
  }
}
