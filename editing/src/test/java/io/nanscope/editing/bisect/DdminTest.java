package io.nanscope.editing.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * {@link Ddmin} against brute force: the result passes, and no single element can be removed from
 * it (1-minimality, checked by running the test again on every "result minus one").
 */
class DdminTest {

  @Test
  void findsExactlyTheRequiredElementsOfAMonotoneTest() {
    SplittableRandom rng = new SplittableRandom(7);
    for (int trial = 0; trial < 200; trial++) {
      int n = 1 + rng.nextInt(40);
      List<Integer> all = IntStream.range(0, n).boxed().toList();
      Set<Integer> required = new HashSet<>();
      int k = 1 + rng.nextInt(Math.min(n, 6));
      while (required.size() < k) {
        required.add(rng.nextInt(n));
      }
      Set<Set<Integer>> tested = new HashSet<>();
      Predicate<List<Integer>> passes =
          s -> {
            tested.add(Set.copyOf(s));
            return s.containsAll(required);
          };
      List<Integer> min = Ddmin.minimise(all, passes);
      assertThat(new HashSet<>(min)).as("n=%d required=%s", n, required).isEqualTo(required);
      // Zeller and Hildebrandt's worst case for ddmin: (n² + 3n) / 2 distinct tests
      assertThat(tested.size()).isLessThanOrEqualTo((n * n + 3 * n) / 2);
    }
  }

  @Test
  void resultOfANonMonotoneTestPassesAndIsOneMinimal() {
    SplittableRandom rng = new SplittableRandom(11);
    for (int trial = 0; trial < 300; trial++) {
      int n = 2 + rng.nextInt(24);
      List<Integer> all = IntStream.range(0, n).boxed().toList();
      // passes with {a, b}, or with c as long as d is absent: removing d can make a set pass
      int a = rng.nextInt(n), b = rng.nextInt(n), c = rng.nextInt(n), d = rng.nextInt(n);
      Predicate<List<Integer>> passes =
          s -> (s.contains(a) && s.contains(b)) || (s.contains(c) && !s.contains(d));
      if (!passes.test(all) || passes.test(List.of())) {
        continue;
      }
      List<Integer> min = Ddmin.minimise(all, passes);
      assertThat(passes.test(min)).isTrue();
      for (Integer x : min) {
        List<Integer> without = new ArrayList<>(min);
        without.remove(x);
        assertThat(passes.test(without)).as("%s without %d", min, x).isFalse();
      }
    }
  }

  @Test
  void aSingleRequiredElementIsKeptAndOrderIsPreserved() {
    assertThat(Ddmin.minimise(List.of("a"), s -> s.contains("a"))).containsExactly("a");
    assertThat(Ddmin.minimise(List.of("d", "c", "b", "a"), s -> s.contains("a") && s.contains("c")))
        .containsExactly("c", "a");
  }

  @Test
  void shortestPassingPrefixBisectsTheLength() {
    List<Integer> order = IntStream.range(0, 100).boxed().toList();
    for (int need : new int[] {1, 2, 37, 99, 100}) {
      int[] calls = {0};
      List<Integer> p =
          Ddmin.shortestPassingPrefix(
              order,
              s -> {
                calls[0]++;
                return s.size() >= need;
              });
      assertThat(p).hasSize(need);
      assertThat(calls[0]).isLessThanOrEqualTo(7); // ceil(log2(100))
    }
  }

  @Test
  void splitMakesContiguousPartsOfNearlyEqualSize() {
    List<Integer> c = IntStream.range(0, 7).boxed().toList();
    assertThat(Ddmin.split(c, 3)).containsExactly(List.of(0, 1), List.of(2, 3), List.of(4, 5, 6));
    assertThat(Ddmin.split(c, 7)).allMatch(p -> p.size() == 1);
  }
}
