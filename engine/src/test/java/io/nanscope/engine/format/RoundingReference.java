package io.nanscope.engine.format;

/**
 * An exact rounding reference written apart from {@link FloatFormat}: it takes the format's
 * parameters from a hand-written table (not from FormatInfo) and rounds by floor and distance in
 * double arithmetic, where FloatFormat shifts integer significands.
 *
 * <p>Why double is exact here: for |x| in binade [2^e, 2^(e+1)) the target quantum is {@code ulp =
 * 2^(max(e, emin) - p + 1)} with p ≤ 24, so x / ulp < 2^p is a power-of-two scaling (exact), floor
 * is exact, lower = floor(x / ulp) · ulp is exact, the remainder x − lower is a tail of x's bits
 * (exact), and 2·remainder vs ulp decides the nearest neighbour without error.
 */
record RoundingReference(String name, int p, int emin, double maxFinite, boolean hasInfinity) {

  static final RoundingReference FP32 =
      new RoundingReference("fp32", 24, -126, 0x1.fffffep127, true);
  static final RoundingReference TF32 = new RoundingReference("tf32", 11, -126, 0x1.ffcp127, true);
  static final RoundingReference BF16 = new RoundingReference("bf16", 8, -126, 0x1.fep127, true);
  static final RoundingReference FP16 = new RoundingReference("fp16", 11, -14, 65504, true);
  static final RoundingReference E5M2 = new RoundingReference("fp8-e5m2", 3, -14, 57344, true);
  static final RoundingReference E4M3 = new RoundingReference("fp8-e4m3", 4, -6, 448, false);

  /** custom:p=5,e=3: bias 3, emax 3, max (2 − 2^-4)·2^3. */
  static final RoundingReference P5E3 = new RoundingReference("custom:p=5,e=3", 5, -2, 15.5, true);

  static final RoundingReference[] ALL = {FP32, TF32, BF16, FP16, E5M2, E4M3, P5E3};

  double minNormal() {
    return Math.scalb(1.0, emin);
  }

  /** The quantum (ulp) of |x|'s binade in this format. */
  double ulpAt(double a) {
    int e = Math.getExponent(a);
    if (e == Double.MIN_EXPONENT - 1) {
      e = Double.MIN_EXPONENT; // double subnormal: far below every emin here
    }
    return Math.scalb(1.0, Math.max(e, emin) - p + 1);
  }

  /** Rounds x by the definition of {@code mode}, then applies the overflow and subnormal rules. */
  double round(double x, Rounding mode, Overflow overflow, Subnormals subnormals) {
    if (Double.isNaN(x)) {
      return Double.NaN;
    }
    if (Double.isInfinite(x)) {
      if (hasInfinity) {
        return x;
      }
      return overflow == Overflow.SATURATE ? Math.copySign(maxFinite, x) : Double.NaN;
    }
    if (x == 0) {
      return x;
    }
    boolean negative = x < 0;
    double a = Math.abs(x);
    double ulp = ulpAt(a);
    double lower = Math.floor(a / ulp) * ulp;
    double upper = lower + ulp;
    double twiceRemainder = 2 * (a - lower);
    double r;
    if (twiceRemainder == 0) {
      r = lower;
    } else {
      r =
          switch (mode) {
            case NEAREST_EVEN -> {
              if (twiceRemainder < ulp) {
                yield lower;
              } else if (twiceRemainder > ulp) {
                yield upper;
              }
              yield ((long) (lower / ulp)) % 2 == 0 ? lower : upper;
            }
            case TOWARD_ZERO -> lower;
            case UP -> negative ? lower : upper;
            case DOWN -> negative ? upper : lower;
            case STOCHASTIC ->
                throw new IllegalArgumentException("stochastic has no single answer");
          };
    }
    if (r > maxFinite) {
      boolean awayFromZero =
          mode == Rounding.NEAREST_EVEN
              || (mode == Rounding.UP && !negative)
              || (mode == Rounding.DOWN && negative);
      if (overflow == Overflow.SATURATE || !awayFromZero) {
        r = maxFinite;
      } else if (!hasInfinity) {
        return Double.NaN;
      } else {
        r = Double.POSITIVE_INFINITY;
      }
    } else if (subnormals == Subnormals.FLUSH && r < minNormal()) {
      r = 0;
    }
    return negative ? -r : r;
  }

  double roundNearestEven(double x) {
    return round(x, Rounding.NEAREST_EVEN, Overflow.IEEE, Subnormals.KEEP);
  }
}
