package io.nanscope.engine.format;

/**
 * How a value between two neighbours of a format is resolved (IEEE 754 §4.3 plus stochastic).
 *
 * <p>The rounding modes are the IEEE ones: roundTiesToEven, roundTowardZero, roundTowardPositive,
 * roundTowardNegative. {@link #STOCHASTIC} rounds up with probability equal to the distance from
 * the lower neighbour in ulps (Connolly, Higham, Mary, "Stochastic rounding and its probabilistic
 * backward error analysis", SIAM J. Sci. Comput. 2021, mode SR1), so the expected rounded value
 * equals the input; the random draw comes from the seed of a {@link RoundingSpec}.
 */
public enum Rounding {
  /** Nearest, ties to the even neighbour (IEEE default). */
  NEAREST_EVEN("nearest-even"),
  /** Truncate toward zero. */
  TOWARD_ZERO("toward-zero"),
  /** Toward +infinity (ceiling). */
  UP("up"),
  /** Toward -infinity (floor). */
  DOWN("down"),
  /** Up with probability (x - lower) / ulp: unbiased in expectation, seeded and reproducible. */
  STOCHASTIC("stochastic");

  private final String cliName;

  Rounding(String cliName) {
    this.cliName = cliName;
  }

  /** The lower-case, hyphenated name used on the command line and in reports. */
  public String cliName() {
    return cliName;
  }

  /**
   * Parses a rounding mode name (case-insensitive; {@code nearest-even}, {@code toward-zero},
   * {@code up}, {@code down}, {@code stochastic}; underscores and short aliases {@code rne}, {@code
   * rz}, {@code ru}, {@code rd}, {@code sr} accepted).
   *
   * @throws IllegalArgumentException naming the valid choices
   */
  public static Rounding parse(String name) {
    String n =
        name == null ? "" : name.strip().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    return switch (n) {
      case "nearest-even", "nearest", "rne", "rn" -> NEAREST_EVEN;
      case "toward-zero", "truncate", "rz" -> TOWARD_ZERO;
      case "up", "ceiling", "ru" -> UP;
      case "down", "floor", "rd" -> DOWN;
      case "stochastic", "sr" -> STOCHASTIC;
      default ->
          throw new IllegalArgumentException(
              "unknown rounding '"
                  + name
                  + "': expected one of nearest-even, toward-zero, up, down,"
                  + " stochastic");
    };
  }
}
