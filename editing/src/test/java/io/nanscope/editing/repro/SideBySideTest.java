package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Runs side by side: every task once, the first failure rethrown, and every line in the order of
 * the one-thread run whatever the threads' timing.
 */
class SideBySideTest {

  @Test
  void linesOfConcurrentRunsComeOutInTheSequentialOrder() {
    List<String> out = new ArrayList<>();
    InOrder lines = new InOrder(3);
    var r0 = lines.to(0, out::add);
    var r1 = lines.to(1, out::add);
    var r2 = lines.to(2, s -> out.add("err " + s));
    r2.accept("c1"); // run 2 first: held
    r1.accept("b1");
    r0.accept("a1"); // the head run: straight through
    assertThat(out).containsExactly("a1");
    lines.finish(2);
    r1.accept("b2");
    assertThat(out).containsExactly("a1");
    r0.accept("a2");
    lines.finish(0); // releases run 1's lines; run 1 now passes through
    assertThat(out).containsExactly("a1", "a2", "b1", "b2");
    r1.accept("b3");
    lines.finish(1); // run 2 had finished: its lines follow
    assertThat(out).containsExactly("a1", "a2", "b1", "b2", "b3", "err c1");
    assertThatThrownBy(() -> r0.accept("late")).hasMessageContaining("after it finished");
  }

  @Test
  void everyTaskRunsOnceAndTheFirstFailureIsRethrown() {
    for (int jobs : new int[] {1, 2, 5}) {
      int[] runs = new int[7];
      SideBySide.claimInOrder(
          7,
          jobs,
          i -> {
            synchronized (runs) {
              runs[i]++;
            }
          });
      assertThat(runs).containsOnly(1);
      assertThatThrownBy(() ->
              SideBySide.claimInOrder(
                  3,
                  jobs,
                  i -> {
                    if (i == 1) {
                      throw new IllegalStateException("task 1 failed");
                    }
                  }))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("task 1 failed");
    }
  }

  @Test
  void mapReturnsResultsAndLinesInItemOrderWhicheverRunFinishesFirst() throws IOException {
    for (int jobs : new int[] {1, 2, 4}) {
      List<String> out = new ArrayList<>(), err = new ArrayList<>();
      List<Integer> results =
          SideBySide.map(
              List.of(30, 0, 20, 5),
              jobs,
              out::add,
              err::add,
              (millis, o, e) -> {
                o.accept("start " + millis);
                try {
                  Thread.sleep(millis); // the later items finish first when jobs > 1
                } catch (InterruptedException ex) {
                  Thread.currentThread().interrupt();
                }
                e.accept("took " + millis);
                o.accept("end " + millis);
                return millis * 2;
              });
      assertThat(results).containsExactly(60, 0, 40, 10);
      assertThat(out)
          .containsExactly(
              "start 30", "end 30", "start 0", "end 0", "start 20", "end 20", "start 5", "end 5");
      assertThat(err).containsExactly("took 30", "took 0", "took 20", "took 5");
    }
  }

  @Test
  void anIoFailureOfARunIsRethrownAsItself() {
    assertThatThrownBy(() ->
            SideBySide.map(
                List.of(1, 2, 3),
                2,
                s -> {},
                s -> {},
                (i, o, e) -> {
                  if (i == 2) {
                    throw new IOException("no such model: run " + i);
                  }
                  return i;
                }))
        .isInstanceOf(IOException.class)
        .hasMessage("no such model: run 2");
  }
}
