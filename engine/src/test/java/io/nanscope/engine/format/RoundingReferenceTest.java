package io.nanscope.engine.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every format × mode × overflow rule × subnormal rule against {@link RoundingReference}, on
 * boundary cases and random inputs (2^24 random floats for FP32 → BF16 and FP32 → FP16 at
 * nearest-even, 2^16 more per combination). Bit-exact: the error budget is zero ulps.
 */
class RoundingReferenceTest {

  static FloatFormat formatOf(RoundingReference ref) {
    return FloatFormat.parse(ref.name());
  }

  /**
   * Boundary inputs for {@code ref}: ties, maxFinite ± ulp, the subnormal range, ±0, inf, NaN
   * payloads.
   */
  static List<Double> boundaries(RoundingReference ref) {
    double max = ref.maxFinite();
    double maxUlp = ref.ulpAt(max);
    double minNormal = ref.minNormal();
    double minSub = Math.scalb(minNormal, 1 - ref.p());
    List<Double> xs = new ArrayList<>();
    double[] base = {
      0,
      1,
      1 + ref.ulpAt(1) / 2,
      1 + 1.5 * ref.ulpAt(1),
      1 + ref.ulpAt(1) / 4,
      3,
      max,
      max + maxUlp / 2,
      max + maxUlp,
      max - maxUlp / 2,
      max + maxUlp / 2 - maxUlp / 64,
      2 * max,
      Math.scalb(max, 40),
      minNormal,
      minNormal - minSub / 2,
      minNormal - minSub,
      minSub,
      minSub / 2,
      minSub * 1.5,
      minSub / 4,
      minSub * 0.75,
      minSub * 2.5,
      Double.MIN_VALUE,
      Float.MIN_VALUE,
      Float.MAX_VALUE,
      Double.MAX_VALUE,
      Double.POSITIVE_INFINITY,
      Double.NaN,
      Double.longBitsToDouble(0x7FF0000000000001L),
      Float.intBitsToFloat(0x7FA00001),
      0.1,
      1e-5,
      65519,
      65520,
      65519.99,
      1e-8,
      255.875 * 261.75
    };
    for (double b : base) {
      for (double x : new double[] {b, Math.nextUp(b), Math.nextDown(b)}) {
        xs.add(x);
        xs.add(-x);
      }
    }
    return xs;
  }

  static double randomInput(SplittableRandom rnd, RoundingReference ref) {
    return switch (rnd.nextInt(3)) {
      case 0 -> Float.intBitsToFloat(rnd.nextInt());
      case 1 ->
          Math.scalb(rnd.nextDouble(1, 2), rnd.nextInt(ref.emin() - ref.p() - 3, 130))
              * (rnd.nextBoolean() ? 1 : -1);
      default -> {
        // within a few binades of the format's range, with a full 53-bit significand
        int emax = Math.getExponent(ref.maxFinite());
        yield Math.scalb(rnd.nextDouble(-2, 2), rnd.nextInt(ref.emin() - ref.p() - 2, emax + 3));
      }
    };
  }

  static Stream<Arguments> combinations() {
    List<Arguments> out = new ArrayList<>();
    for (RoundingReference ref : RoundingReference.ALL) {
      for (Rounding mode :
          new Rounding[] {
            Rounding.NEAREST_EVEN, Rounding.TOWARD_ZERO, Rounding.UP, Rounding.DOWN
          }) {
        for (Overflow ov : Overflow.values()) {
          for (Subnormals sub : Subnormals.values()) {
            out.add(Arguments.of(ref, mode, ov, sub));
          }
        }
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0} {1} {2} {3}")
  @MethodSource("combinations")
  void everyModeMatchesReference(
      RoundingReference ref, Rounding mode, Overflow ov, Subnormals sub) {
    FloatFormat format = formatOf(ref);
    RoundingSpec spec = new RoundingSpec(mode, ov, sub, 0);
    SplittableRandom rnd =
        new SplittableRandom(
            ref.name().hashCode() * 31L + mode.ordinal() * 7 + ov.ordinal() * 3 + sub.ordinal());
    List<Double> xs = boundaries(ref);
    for (int i = 0; i < 1 << 16; i++) {
      xs.add(randomInput(rnd, ref));
    }
    int failures = 0;
    for (double x : xs) {
      double want = ref.round(x, mode, ov, sub);
      failures +=
          check(
              format + " " + spec + " round(double " + x + ")",
              format.round(x, spec),
              want,
              failures);
      float xf = (float) x;
      double wantF = ref.round(xf, mode, ov, sub);
      failures +=
          check(
              format + " " + spec + " round(float " + xf + ")",
              format.round(xf, spec),
              wantF,
              failures);
    }
    assertThat(failures).as("mismatches (first ones printed above)").isZero();
  }

  private static int check(String what, double got, double want, int failuresSoFar) {
    boolean ok =
        Double.isNaN(want)
            ? Double.isNaN(got)
                && Double.doubleToRawLongBits(got) == Double.doubleToRawLongBits(Double.NaN)
            : Double.doubleToRawLongBits(got) == Double.doubleToRawLongBits(want);
    if (!ok && failuresSoFar < 10) {
      System.err.println(
          what
              + " = "
              + got
              + " ("
              + Double.toHexString(got)
              + "), reference "
              + want
              + " ("
              + Double.toHexString(want)
              + ")");
    }
    return ok ? 0 : 1;
  }

  /**
   * The fast paths (BF16 bit trick, FP16 JDK intrinsic, FP32 cast) and the generic path on 2^24
   * random floats each.
   */
  @Test
  void fastPathsAndGenericMatchReferenceOn2To24RandomFloats() {
    record Case(FloatFormat format, RoundingReference ref) {}
    for (Case c :
        new Case[] {
          new Case(FloatFormat.BF16, RoundingReference.BF16),
          new Case(FloatFormat.FP16, RoundingReference.FP16)
        }) {
      SplittableRandom rnd = new SplittableRandom(c.ref().p());
      int failures = 0;
      for (int i = 0; i < 1 << 24; i++) {
        float x =
            i % 2 == 0 ? Float.intBitsToFloat(rnd.nextInt()) : (float) randomInput(rnd, c.ref());
        double want = c.ref().roundNearestEven(x);
        failures +=
            check(c.format() + " round(float " + x + ")", c.format().round(x), want, failures);
        if ((i & 3) == 0) {
          failures +=
              check(
                  c.format() + " round(double " + x + ")",
                  c.format().round((double) x),
                  want,
                  failures);
          failures +=
              check(
                  c.format() + " round(float, spec)",
                  c.format().round(x, RoundingSpec.of(Rounding.TOWARD_ZERO)),
                  c.ref().round(x, Rounding.TOWARD_ZERO, Overflow.IEEE, Subnormals.KEEP),
                  failures);
        }
      }
      assertThat(failures).as(c.format() + " mismatches").isZero();
    }
    // FP32 from double: the JLS cast vs the reference, random doubles with full significands
    SplittableRandom rnd = new SplittableRandom(32);
    for (int i = 0; i < 1 << 20; i++) {
      double x = randomInput(rnd, RoundingReference.FP32);
      assertThat(
              check(
                  "fp32 round(double " + x + ")",
                  FloatFormat.FP32.round(x),
                  RoundingReference.FP32.roundNearestEven(x),
                  0))
          .isZero();
      assertThat(
              check(
                  "fp32 generic",
                  FloatFormat.FP32.round(x, RoundingSpec.of(Rounding.NEAREST_EVEN)),
                  RoundingReference.FP32.roundNearestEven(x),
                  0))
          .isZero();
    }
  }

  /** Stochastic results are always one of the two neighbours the directed modes give. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("formats")
  void stochasticPicksANeighbour(RoundingReference ref) {
    FloatFormat format = formatOf(ref);
    SplittableRandom rnd = new SplittableRandom(5);
    for (Overflow ov : Overflow.values()) {
      RoundingSpec spec = RoundingSpec.stochastic(42).withOverflow(ov);
      List<Double> xs = boundaries(ref);
      for (int i = 0; i < 1 << 16; i++) {
        xs.add(randomInput(rnd, ref));
      }
      for (int i = 0; i < xs.size(); i++) {
        double x = xs.get(i);
        double got = format.round(x, spec, i);
        double down = ref.round(x, Rounding.TOWARD_ZERO, ov, Subnormals.KEEP);
        double away = ref.round(x, x < 0 ? Rounding.DOWN : Rounding.UP, ov, Subnormals.KEEP);
        boolean ok =
            Double.isNaN(got)
                ? Double.isNaN(away) || Double.isNaN(down)
                : Double.doubleToRawLongBits(got) == Double.doubleToRawLongBits(down)
                    || Double.doubleToRawLongBits(got) == Double.doubleToRawLongBits(away);
        assertThat(ok).as("%s SR(%s) = %s, neighbours %s, %s", format, x, got, down, away).isTrue();
      }
    }
  }

  static Stream<RoundingReference> formats() {
    return Stream.of(RoundingReference.ALL);
  }
}
