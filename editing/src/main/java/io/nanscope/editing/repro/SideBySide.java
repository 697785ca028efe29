package io.nanscope.editing.repro;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Independent runs of a scenario (precisions, calibrations) on up to {@code jobs} threads, with
 * what they print released in the order of the one-thread run ({@link InOrder}). A run must own
 * everything it writes (its model, tracer, random stream): then its results do not depend on the
 * number of jobs, and neither does any printed line.
 */
public final class SideBySide {

  private SideBySide() {}

  /** One run: prints through {@code out} and {@code err}, returns its result. */
  @FunctionalInterface
  public interface Run<T, R> {
    R run(T item, Consumer<String> out, Consumer<String> err) throws IOException;
  }

  /**
   * Runs {@code run} on every item, on up to {@code jobs} threads; each run's lines reach {@code
   * out} and {@code err} in item order (run i's after every line of runs 0..i-1). Returns the
   * results in item order; the first failure is rethrown (an I/O failure as itself).
   */
  public static <T, R> List<R> map(
      List<T> items, int jobs, Consumer<String> out, Consumer<String> err, Run<T, R> run)
      throws IOException {
    int n = items.size();
    Object[] results = new Object[n];
    InOrder lines = new InOrder(n);
    try {
      claimInOrder(
          n,
          jobs,
          i -> {
            try {
              results[i] = run.run(items.get(i), lines.to(i, out), lines.to(i, err));
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            } finally {
              lines.finish(i);
            }
          });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    @SuppressWarnings("unchecked")
    List<R> list = (List<R>) Arrays.asList(results);
    return new ArrayList<>(list);
  }

  /**
   * Runs tasks 0..n-1 on up to {@code jobs} threads (the caller's among them), each thread claiming
   * the next unclaimed task in increasing order; returns when all have run. The first failure is
   * rethrown (the others added to it as suppressed), after the tasks already claimed have finished;
   * tasks not yet claimed then are skipped.
   */
  public static void claimInOrder(int n, int jobs, IntConsumer task) {
    AtomicInteger next = new AtomicInteger();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Runnable loop =
        () -> {
          for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) {
            if (failure.get() != null) {
              return;
            }
            try {
              task.accept(i);
            } catch (RuntimeException | Error e) {
              if (!failure.compareAndSet(null, e)) {
                failure.get().addSuppressed(e);
              }
            }
          }
        };
    List<Thread> helpers = new ArrayList<>();
    for (int j = 1; j < Math.min(jobs, n); j++) {
      helpers.add(Thread.ofPlatform().name("stress-job-" + j).daemon().start(loop));
    }
    loop.run();
    boolean interrupted = false;
    for (Thread t : helpers) {
      while (true) {
        try {
          t.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
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
}
