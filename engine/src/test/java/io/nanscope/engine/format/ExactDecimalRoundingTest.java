package io.nanscope.engine.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link FloatFormat#roundWithFlags(BigDecimal, RoundingSpec, long)} against an exact oracle that
 * shares no rounding code with it: the oracle finds the two neighbours of |x| by a binary search
 * over the format's positive bit patterns (their values via {@link FloatFormat#decodeBits}, which
 * the exhaustive tests check), compares distances in exact BigDecimal arithmetic, and applies the
 * IEEE 754 rules written out below (ties to the even bit pattern; overflow after rounding with an
 * unbounded exponent, §7.4; flush of results below minNormal after rounding).
 */
class ExactDecimalRoundingTest {

  private static final List<FloatFormat> FORMATS =
      List.of(
          FloatFormat.FP64,
          FloatFormat.custom(52, 8),
          FloatFormat.FP32,
          FloatFormat.TF32,
          FloatFormat.BF16,
          FloatFormat.FP16,
          FloatFormat.FP8_E5M2,
          FloatFormat.FP8_E4M3,
          FloatFormat.custom(4, 3),
          FloatFormat.custom(13, 6));
  private static final List<Rounding> MODES =
      List.of(Rounding.NEAREST_EVEN, Rounding.TOWARD_ZERO, Rounding.UP, Rounding.DOWN);

  @Test
  void theIssuesExamplesRoundOnceFromTheDecimal() {
    FloatFormat f = FloatFormat.FP16;
    RoundResult a =
        f.roundWithFlags(new BigDecimal("65519.999999999999999"), RoundingSpec.NEAREST_EVEN, 0);
    assertThat(a.value()).isEqualTo(65504.0);
    assertThat(a.overflow()).isFalse();
    RoundResult b =
        f.roundWithFlags(new BigDecimal("1.00048828125000000000001"), RoundingSpec.NEAREST_EVEN, 0);
    assertThat(b.bits()).isEqualTo(0x3c01);
    RoundResult c =
        f.roundWithFlags(
            new BigDecimal("0.99999999999999999999"), RoundingSpec.of(Rounding.DOWN), 0);
    assertThat(c.value()).isEqualTo(1 - 0x1p-11);
    RoundingSpec saturate = RoundingSpec.NEAREST_EVEN.withOverflow(Overflow.SATURATE);
    RoundResult d = f.roundWithFlags(new BigDecimal("1e400"), saturate, 0);
    assertThat(d.value()).isEqualTo(65504.0);
    assertThat(d.overflow()).isTrue();
    RoundResult e = f.roundWithFlags(new BigDecimal("1e400"), RoundingSpec.of(Rounding.DOWN), 0);
    assertThat(e.value()).isEqualTo(65504.0);
    assertThat(e.overflow()).isTrue();
    RoundResult g = f.roundWithFlags(new BigDecimal("1e-400"), RoundingSpec.NEAREST_EVEN, 0);
    assertThat(g.value()).isEqualTo(0.0);
    assertThat(g.underflow()).isTrue();
    RoundResult h = f.roundWithFlags(new BigDecimal("1e-400"), RoundingSpec.of(Rounding.UP), 0);
    assertThat(h.value()).isEqualTo(0x1p-24);
    RoundResult i = f.roundWithFlags(new BigDecimal("-1e-400"), RoundingSpec.of(Rounding.UP), 0);
    assertThat(Double.doubleToRawLongBits(i.value())).isEqualTo(Double.doubleToRawLongBits(-0.0));
    RoundResult j =
        FloatFormat.FP64.roundWithFlags(new BigDecimal("1e400"), RoundingSpec.NEAREST_EVEN, 0);
    assertThat(j.value()).isInfinite();
    assertThat(j.overflow()).isTrue();
  }

  @Test
  void everyModeAndRuleAgreesWithTheExactOracleOnHardDecimals() {
    SplittableRandom rnd = new SplittableRandom(20261206);
    int checked = 0;
    for (FloatFormat f : FORMATS) {
      for (BigDecimal x : hardValues(f, rnd)) {
        for (Rounding mode : MODES) {
          for (Overflow ov : Overflow.values()) {
            for (Subnormals sub : Subnormals.values()) {
              RoundingSpec spec = new RoundingSpec(mode, ov, sub, 0);
              RoundResult got = f.roundWithFlags(x, spec, 0);
              Expected want = oracle(f, x, spec);
              assertThat(bitsOf(got.value()))
                  .as("%s %s %s -> %s, oracle %s", f.name(), spec, x, got.value(), want.value)
                  .isEqualTo(bitsOf(want.value));
              assertThat(got.overflow())
                  .as("overflow flag %s %s %s", f.name(), spec, x)
                  .isEqualTo(want.overflow);
              assertThat(got.underflow())
                  .as("underflow flag %s %s %s", f.name(), spec, x)
                  .isEqualTo(got.value() == 0);
              checked++;
            }
          }
        }
      }
    }
    assertThat(checked).isGreaterThan(100_000);
  }

  @Test
  void valuesThatAreDoublesTakeTheDoublePathInEveryMode() {
    SplittableRandom rnd = new SplittableRandom(7);
    for (FloatFormat f : FloatFormat.builtIns()) {
      for (int k = 0; k < 2000; k++) {
        double d = Double.longBitsToDouble(rnd.nextLong());
        if (!Double.isFinite(d) || d == 0) {
          continue;
        }
        for (Rounding mode : Rounding.values()) {
          RoundingSpec spec = new RoundingSpec(mode, Overflow.IEEE, Subnormals.KEEP, 99);
          assertThat(Double.doubleToLongBits(f.roundWithFlags(new BigDecimal(d), spec, k).value()))
              .isEqualTo(Double.doubleToLongBits(f.roundWithFlags(d, spec, k).value()));
        }
      }
    }
  }

  @Test
  void stochasticRoundingOfADecimalIsUnbiased() {
    // x = 1 + 0.3 ulp exactly, far from any double: P(up) must be 0.3
    FloatFormat f = FloatFormat.FP16;
    BigDecimal ulp = new BigDecimal(0x1p-10);
    BigDecimal x = BigDecimal.ONE.add(ulp.multiply(new BigDecimal("0.3")));
    RoundingSpec spec = RoundingSpec.stochastic(11);
    int n = 40_000;
    int up = 0;
    for (int i = 0; i < n; i++) {
      double v = f.roundWithFlags(x, spec, i).value();
      assertThat(v).isIn(1.0, 1 + 0x1p-10);
      up += v > 1 ? 1 : 0;
    }
    double sigma = Math.sqrt(0.3 * 0.7 / n);
    assertThat(up / (double) n).isCloseTo(0.3, org.assertj.core.data.Offset.offset(5 * sigma));
  }

  /** Raw bits (so −0 ≠ +0), with every NaN the canonical one. */
  private static long bitsOf(double v) {
    return Double.isNaN(v) ? Double.doubleToLongBits(v) : Double.doubleToRawLongBits(v);
  }

  // ------------------------------------------------------------------------------------ the oracle

  private record Expected(double value, boolean overflow) {}

  private static Expected oracle(FloatFormat f, BigDecimal x, RoundingSpec spec) {
    boolean negative = x.signum() < 0;
    BigDecimal a = x.abs();
    long maxBits = f.encodeBits(f.info().maxFinite()); // positive patterns 0..maxBits are ordered
    BigDecimal max = new BigDecimal(f.info().maxFinite());
    long lowBits;
    BigDecimal low;
    long highBits;
    BigDecimal high;
    if (a.compareTo(max) >= 0) {
      lowBits = maxBits;
      low = max;
      highBits = maxBits + 1; // the next pattern: an unbounded exponent's neighbour and its parity
      high = nextAboveMax(f);
    } else {
      long lo = 0;
      long hi = maxBits; // value(lo) <= a < value(hi)
      while (hi - lo > 1) {
        long mid = (lo + hi) >>> 1;
        if (new BigDecimal(f.decodeBits(mid)).compareTo(a) <= 0) {
          lo = mid;
        } else {
          hi = mid;
        }
      }
      lowBits = lo;
      low = new BigDecimal(f.decodeBits(lo));
      highBits = hi;
      high = new BigDecimal(f.decodeBits(hi));
    }
    BigDecimal chosen;
    long chosenBits;
    if (a.compareTo(low) == 0) {
      chosen = low;
      chosenBits = lowBits;
    } else {
      boolean up =
          switch (spec.rounding()) {
            case NEAREST_EVEN -> {
              int c = a.subtract(low).compareTo(high.subtract(a));
              yield c > 0 || (c == 0 && (lowBits & 1) != 0);
            }
            case TOWARD_ZERO -> false;
            case UP -> !negative;
            case DOWN -> negative;
            case STOCHASTIC -> throw new AssertionError();
          };
      chosen = up ? high : low;
      chosenBits = up ? highBits : lowBits;
    }
    // IEEE 754 §7.4: overflow when the result rounded with an unbounded exponent exceeds maxFinite,
    // which is certain at or beyond the next grid point above maxFinite, whatever the direction
    boolean overflow = chosenBits > maxBits || a.compareTo(nextAboveMax(f)) >= 0;
    double magnitude;
    if (overflow) {
      boolean toInfinity =
          spec.overflow() == Overflow.IEEE
              && switch (spec.rounding()) {
                case NEAREST_EVEN, STOCHASTIC -> true;
                case TOWARD_ZERO -> false;
                case UP -> !negative;
                case DOWN -> negative;
              };
      boolean hasInfinity = f != FloatFormat.FP8_E4M3;
      magnitude =
          !toInfinity ? f.info().maxFinite() : hasInfinity ? Double.POSITIVE_INFINITY : Double.NaN;
    } else {
      magnitude = chosen.doubleValue(); // exact: a value of the format
      if (spec.subnormals() == Subnormals.FLUSH && magnitude < f.info().minNormal()) {
        magnitude = 0;
      }
    }
    return new Expected(negative ? -magnitude : magnitude, overflow);
  }

  /** maxFinite plus its own quantum (the grid continued above maxFinite). */
  private static BigDecimal nextAboveMax(FloatFormat f) {
    BigDecimal max = new BigDecimal(f.info().maxFinite());
    long maxBits = f.encodeBits(f.info().maxFinite());
    BigDecimal below = new BigDecimal(f.decodeBits(maxBits - 1));
    return max.add(max.subtract(below)); // same binade: the quantum is the gap below maxFinite
  }

  // ------------------------------------------------------------------------------- test values

  /** Decimals at and around ties, boundaries, subnormals, maxFinite, and far out of range. */
  private static List<BigDecimal> hardValues(FloatFormat f, SplittableRandom rnd) {
    List<BigDecimal> out = new ArrayList<>();
    BigDecimal tiny = new BigDecimal("1e-30");
    long maxBits = f.encodeBits(f.info().maxFinite());
    List<Long> patterns = new ArrayList<>(List.of(0L, 1L, 2L, maxBits - 1, maxBits));
    long minNormalBits = f.encodeBits(f.info().minNormal());
    patterns.addAll(List.of(minNormalBits - 1, minNormalBits, minNormalBits + 1));
    int randomPatterns = f.info().precisionBits() > 24 ? 12 : 60; // wide formats: long decimals
    for (int k = 0; k < randomPatterns; k++) {
      patterns.add(rnd.nextLong(maxBits));
    }
    for (long bits : patterns) {
      BigDecimal v = new BigDecimal(f.decodeBits(bits));
      BigDecimal next = bits < maxBits ? new BigDecimal(f.decodeBits(bits + 1)) : nextAboveMax(f);
      BigDecimal gap = next.subtract(v);
      BigDecimal mid = v.add(next).divide(BigDecimal.TWO);
      BigDecimal eps = gap.multiply(tiny);
      for (BigDecimal y :
          List.of(
              v,
              mid,
              mid.subtract(eps),
              mid.add(eps),
              v.add(eps),
              next.subtract(eps),
              v.add(gap.multiply(new BigDecimal("0.3"))),
              v.add(
                  gap.multiply(
                      new BigDecimal(rnd.nextDouble())
                          .setScale(25, java.math.RoundingMode.DOWN))))) {
        if (y.signum() != 0) {
          out.add(y);
          out.add(y.negate());
        }
      }
    }
    for (String s :
        List.of(
            "1e400",
            "1e-400",
            "65519.999999999999999",
            "65520.000000000000001",
            "1.00048828125000000000001",
            "0.99999999999999999999",
            "3.4028235677973366e38",
            "1e-45",
            "7e-46",
            "2.98e-8",
            "1e39")) {
      out.add(new BigDecimal(s));
      out.add(new BigDecimal(s).negate());
    }
    for (int k = 0; k < 200; k++) { // random long decimals across the whole range of the format
      StringBuilder digits = new StringBuilder();
      int len = 1 + rnd.nextInt(40);
      for (int d = 0; d < len; d++) {
        digits.append((char) ('0' + (d == 0 ? 1 + rnd.nextInt(9) : rnd.nextInt(10))));
      }
      int e10 = rnd.nextInt(-50, 45);
      out.add(new BigDecimal(new BigInteger(digits.toString()), len - 1 - e10));
    }
    return out;
  }
}
