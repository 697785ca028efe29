package io.nanscope.engine.parallel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
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
 * the machine; the calling thread is always one of the workers, so {@code threads = 1} never touches
 * the pool and nested calls from a pool thread cannot deadlock (a joining pool thread helps).
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
   * Runs every task once. {@code worker} is called once per participating thread and returns that
   * thread's task body (so each thread can own scratch buffers).
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
    Runnable loop =
        () -> {
          IntConsumer body = worker.get();
          for (int i = next.getAndIncrement(); i < tasks; i = next.getAndIncrement()) {
            body.accept(i);
          }
        };
    List<ForkJoinTask<?>> helpers = new ArrayList<>(t - 1);
    for (int i = 1; i < t; i++) {
      helpers.add(Pool.POOL.submit(loop));
    }
    Throwable failure = null;
    try {
      loop.run();
    } catch (RuntimeException | Error e) {
      failure = e;
      next.set(tasks); // let the helpers stop early
    }
    for (ForkJoinTask<?> h : helpers) {
      try {
        h.join();
      } catch (RuntimeException | Error e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure instanceof RuntimeException re) {
      throw re;
    }
    if (failure instanceof Error err) {
      throw err;
    }
  }

  /** Splits {@code [0, n)} into blocks of {@code block} (the last may be shorter): block count. */
  public static int blocks(int n, int block) {
    return n == 0 ? 0 : (n - 1) / block + 1;
  }
}
