package io.nanscope.engine.parallel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class WorkSplitTest {

  @Test
  void everyTaskRunsExactlyOnceForAnyThreadCount() {
    for (int threads : new int[] {1, 2, 3, 8}) {
      for (int tasks : new int[] {0, 1, 2, 7, 100}) {
        AtomicIntegerArray seen = new AtomicIntegerArray(tasks);
        WorkSplit.run(tasks, threads, () -> seen::incrementAndGet);
        for (int i = 0; i < tasks; i++) {
          assertThat(seen.get(i)).as("task %d of %d on %d threads", i, tasks, threads).isEqualTo(1);
        }
      }
    }
  }

  @Test
  void eachThreadGetsItsOwnWorker() {
    AtomicInteger workers = new AtomicInteger();
    ConcurrentHashMap<Thread, Integer> bodies = new ConcurrentHashMap<>();
    WorkSplit.run(
        64,
        2,
        () -> {
          int id = workers.incrementAndGet();
          return task -> {
            Integer prev = bodies.putIfAbsent(Thread.currentThread(), id);
            assertThat(prev == null || prev == id).isTrue();
          };
        });
    assertThat(workers.get()).isBetween(1, 2);
  }

  @Test
  void nestedCallsFromWorkersComplete() {
    AtomicInteger count = new AtomicInteger();
    WorkSplit.run(4, 2, () -> t -> WorkSplit.run(4, 2, () -> u -> count.incrementAndGet()));
    assertThat(count.get()).isEqualTo(16);
  }

  @Test
  void failuresPropagateAndBadArgumentsAreRejected() {
    assertThatThrownBy(() ->
            WorkSplit.run(
                10,
                2,
                () ->
                    t -> {
                      if (t == 5) {
                        throw new IllegalStateException("task 5");
                      }
                    }))
        .hasMessageContaining("task 5");
    assertThatThrownBy(() -> WorkSplit.run(1, 0, () -> t -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("threads must be at least 1");
    assertThat(WorkSplit.blocks(0, 4)).isZero();
    assertThat(WorkSplit.blocks(9, 4)).isEqualTo(3);
  }
}
