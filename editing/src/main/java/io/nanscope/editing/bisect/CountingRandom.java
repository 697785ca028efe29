package io.nanscope.editing.bisect;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * A seeded generator that counts its draws, so a later run can continue the same stream from the
 * same place: {@link #at(long, long)} replays {@code draws} draws. Every value comes from {@link
 * #nextLong}; {@link RandomGenerator}'s other methods derive from it, so the draw count is exact.
 */
final class CountingRandom implements RandomGenerator {
  private final SplittableRandom inner;
  private long draws;

  CountingRandom(long seed) {
    this.inner = new SplittableRandom(seed);
  }

  /** The stream of {@code seed} after {@code draws} draws. */
  static CountingRandom at(long seed, long draws) {
    CountingRandom r = new CountingRandom(seed);
    for (long i = 0; i < draws; i++) {
      r.nextLong();
    }
    return r;
  }

  long draws() {
    return draws;
  }

  @Override
  public long nextLong() {
    draws++;
    return inner.nextLong();
  }
}
