package io.nanscope.engine.format;

/**
 * Everything that decides a rounding besides the target format: the mode, the overflow rule, the
 * subnormal rule and, for {@link Rounding#STOCHASTIC}, the seed. An immutable value: pass it
 * explicitly to every rounding call (precision is an argument, never ambient state).
 *
 * <p>Stochastic draws are counter-based: the random bits for element {@code index} are a pure
 * function of {@code (seed, index)} (the SplitMix64 finaliser of Steele, Lea, Flood, OOPSLA 2014,
 * over {@code seed + index·γ}). The same seed therefore gives the same bits whatever the thread
 * split or vector width; derive a new seed (e.g. {@link #withSeed}) for each op that should draw
 * fresh randomness.
 *
 * @param rounding the rounding mode
 * @param overflow what a too-large finite result becomes
 * @param subnormals whether subnormal results are kept or flushed to zero
 * @param seed the stochastic-rounding seed (ignored by the other modes)
 */
public record RoundingSpec(Rounding rounding, Overflow overflow, Subnormals subnormals, long seed) {

  /** IEEE default: nearest-even, overflow to infinity, subnormals kept. */
  public static final RoundingSpec NEAREST_EVEN =
      new RoundingSpec(Rounding.NEAREST_EVEN, Overflow.IEEE, Subnormals.KEEP, 0);

  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  public RoundingSpec {
    if (rounding == null || overflow == null || subnormals == null) {
      throw new IllegalArgumentException(
          "rounding, overflow and subnormals must all be given (use RoundingSpec.NEAREST_EVEN for"
              + " the IEEE default)");
    }
  }

  /** {@code mode} with IEEE overflow and subnormals kept (seed 0 for stochastic). */
  public static RoundingSpec of(Rounding mode) {
    return new RoundingSpec(mode, Overflow.IEEE, Subnormals.KEEP, 0);
  }

  /** Stochastic rounding with the given seed, IEEE overflow, subnormals kept. */
  public static RoundingSpec stochastic(long seed) {
    return new RoundingSpec(Rounding.STOCHASTIC, Overflow.IEEE, Subnormals.KEEP, seed);
  }

  public RoundingSpec withOverflow(Overflow rule) {
    return new RoundingSpec(rounding, rule, subnormals, seed);
  }

  public RoundingSpec withSubnormals(Subnormals rule) {
    return new RoundingSpec(rounding, overflow, rule, seed);
  }

  public RoundingSpec withSeed(long newSeed) {
    return new RoundingSpec(rounding, overflow, subnormals, newSeed);
  }

  /**
   * True for the IEEE default (nearest-even, IEEE overflow, subnormals kept): the vector fast path.
   */
  public boolean isIeeeDefault() {
    return rounding == Rounding.NEAREST_EVEN
        && overflow == Overflow.IEEE
        && subnormals == Subnormals.KEEP;
  }

  /**
   * 64 uniformly distributed random bits for element {@code index}: a pure function of (seed,
   * index).
   */
  public long randomBits(long index) {
    long z = seed + (index + 1) * GOLDEN_GAMMA;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  @Override
  public String toString() {
    return rounding.cliName()
        + (overflow == Overflow.IEEE ? "" : ", saturate")
        + (subnormals == Subnormals.KEEP ? "" : ", flush subnormals")
        + (rounding == Rounding.STOCHASTIC ? ", seed " + seed : "");
  }
}
