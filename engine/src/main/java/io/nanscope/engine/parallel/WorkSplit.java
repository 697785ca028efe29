package io.nanscope.engine.parallel;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * Runs independent tasks {@code 0..tasks-1} on up to {@code threads} threads. Each task must own
 * its outputs (a block of rows or columns, a head): a task is never split, so any reduction inside
 * one task runs in the task's own fixed order and the results do not depend on the thread count or
 * on which thread ran which task. Tasks are handed out in increasing index from a shared counter
 * (dynamic, so a core slowed by other processes does not stall the split).
 *
 * <p>Worker threads come from one lazily created {@link ForkJoinPool} of daemon threads sized to
 * the machine; the calling thread is always one of the workers, so {@code threads = 1} never
 * touches the pool. The caller waits for the tasks, not for the helper threads: a task is only ever
 * claimed by a thread that then runs it, so a helper that gets no core before the tasks run out
 * costs nothing (on a shared machine, joining it would wait a scheduler time slice), and nested
 * calls from a pool thread cannot deadlock.
 */
public final class WorkSplit {

  private WorkSplit() {}

  private static final class Pool {
    static final ForkJoinPool POOL =
        new ForkJoinPool(
            Math.max(1, Runtime.getRuntime().availableProcessors()),
            ForkJoinPool.defaultForkJoinWorkerThreadFactory,
            null,
            false);
  }

  /**
   * Runs every task once. {@code worker} is called once by each thread that runs at least one task
   * and returns that thread's task body (so each thread can own scratch buffers).
   *
   * @param tasks number of independent tasks (0 is allowed)
   * @param threads maximum number of threads, ≥ 1 (more than {@code tasks} is clamped)
   */
  public static void run(int tasks, int threads, Supplier<IntConsumer> worker) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    if (tasks < 0) {
      throw new IllegalArgumentException("tasks must be non-negative, got " + tasks);
    }
    int t = Math.min(threads, tasks);
    if (t <= 1) {
      IntConsumer body = tasks > 0 ? worker.get() : null;
      for (int i = 0; i < tasks; i++) {
        body.accept(i);
      }
      return;
    }
    AtomicInteger next = new AtomicInteger();
    CountDownLatch done = new CountDownLatch(tasks);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Runnable loop =
        () -> {
          IntConsumer body =
              null; // created on the first claimed task: a late helper allocates nothing
          for (int i = next.getAndIncrement(); i < tasks; i = next.getAndIncrement()) {
            try {
              if (failure.get() == null) { // after a failure the remaining tasks are only counted
                if (body == null) {
                  body = worker.get();
                }
                body.accept(i);
              }
            } catch (RuntimeException | Error e) {
              if (!failure.compareAndSet(null, e)) {
                failure.get().addSuppressed(e);
              }
            } finally {
              done.countDown();
            }
          }
        };
    for (int i = 1; i < t; i++) {
      Pool.POOL.execute(loop);
    }
    loop.run();
    // Wait for the tasks, not for the helpers: every task is claimed by a thread that is running
    // it,
    // so a helper that got no core before the tasks ran out is never waited for (it finds none
    // left).
    boolean interrupted = false;
    while (true) {
      try {
        done.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    Throwable f = failure.get();
    if (f instanceof RuntimeException re) {
      throw re;
    }
    if (f instanceof Error err) {
      throw err;
    }
  }

  /** Splits {@code [0, n)} into blocks of {@code block} (the last may be shorter): block count. */
  public static int blocks(int n, int block) {
    return n == 0 ? 0 : (n - 1) / block + 1;
  }
}
