package io.nanscope.editing.bisect;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Zeller and Hildebrandt's minimising delta debugging ({@code ddmin}, "Simplifying and Isolating
 * Failure-Inducing Input", IEEE TSE 28(2), 2002, fig. 5), here over sites and with "the run passes"
 * as the outcome to keep: from a set that passes, it returns a subset that passes and from which no
 * single element can be removed without failing (1-minimal), provided the empty set fails.
 *
 * <p>With the set split into n parts: keep the first part that passes on its own (n = 2 again);
 * else the first complement that passes (n = max(n − 1, 2)); else split finer (n = min(2n, |c|));
 * stop when the parts are single elements and no complement passes. At that point every "c minus
 * one element" has been tested and failed, which is the 1-minimality guarantee.
 */
public final class Ddmin {

  private Ddmin() {}

  /**
   * A 1-minimal passing subset of {@code passing}, which must pass; elements keep their order.
   *
   * @param passes the test; called only on proper subsets of {@code passing}
   */
  public static <T> List<T> minimise(List<T> passing, Predicate<List<T>> passes) {
    List<T> c = List.copyOf(passing);
    int n = 2;
    while (c.size() >= 2) {
      List<List<T>> parts = split(c, n);
      List<T> next = null;
      for (List<T> part : parts) {
        if (passes.test(part)) {
          next = part;
          n = 2;
          break;
        }
      }
      if (next == null && n > 2) {
        // with two parts each complement is the other part, already tested
        for (List<T> part : parts) {
          List<T> complement = minus(c, part);
          if (passes.test(complement)) {
            next = complement;
            n = Math.max(n - 1, 2);
            break;
          }
        }
      }
      if (next != null) {
        c = next;
        continue;
      }
      if (n >= c.size()) {
        break;
      }
      n = Math.min(2 * n, c.size());
    }
    return c;
  }

  /**
   * The shortest prefix of {@code ordered} that passes, by bisection over its length, assuming the
   * empty prefix fails and the whole list passes (both are the caller's measured facts); a
   * non-monotone test can make it return a longer prefix than the shortest, never a failing one.
   */
  public static <T> List<T> shortestPassingPrefix(List<T> ordered, Predicate<List<T>> passes) {
    int lo = 0; // fails
    int hi = ordered.size(); // passes
    while (hi - lo > 1) {
      int mid = (lo + hi) >>> 1;
      if (passes.test(ordered.subList(0, mid))) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return List.copyOf(ordered.subList(0, hi));
  }

  /** {@code c} cut into {@code n} contiguous parts whose sizes differ by at most one. */
  static <T> List<List<T>> split(List<T> c, int n) {
    List<List<T>> parts = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < n; i++) {
      int end = start + (c.size() - start) / (n - i);
      parts.add(List.copyOf(c.subList(start, end)));
      start = end;
    }
    return parts;
  }

  private static <T> List<T> minus(List<T> c, List<T> part) {
    List<T> out = new ArrayList<>(c);
    out.removeAll(part);
    return List.copyOf(out);
  }
}
