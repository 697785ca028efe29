package io.nanscope.editing.repro;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The lines of runs 0..n-1 that execute concurrently, released in the order one thread running them
 * one after the other would have printed them: run k's lines pass straight through while every run
 * before k has finished, and are held until then otherwise. Each line keeps its own sink (the log,
 * the progress), so the order across sinks is the sequential one too.
 *
 * <p>Thread-safe; sinks are called under this object's lock, one line at a time.
 */
public final class InOrder {

  private final List<List<Runnable>> held;
  private final boolean[] finished;
  private int head; // the first run not yet finished: its lines pass straight through

  /** For runs 0..runs-1. */
  public InOrder(int runs) {
    held = new ArrayList<>(runs);
    for (int i = 0; i < runs; i++) {
      held.add(new ArrayList<>());
    }
    finished = new boolean[runs];
  }

  /** Run {@code k}'s lines to {@code sink}, in the sequential order. */
  public Consumer<String> to(int k, Consumer<String> sink) {
    return line -> emit(k, () -> sink.accept(line));
  }

  private synchronized void emit(int k, Runnable line) {
    if (finished[k]) {
      throw new IllegalStateException("run " + k + " printed a line after it finished");
    }
    if (k == head) {
      line.run();
    } else {
      held.get(k).add(line);
    }
  }

  /**
   * Run {@code k} printed its last line: releases the held lines of the runs after it, in order.
   */
  public synchronized void finish(int k) {
    finished[k] = true;
    while (head < finished.length && finished[head]) {
      head++;
      if (head < finished.length) {
        held.get(head).forEach(Runnable::run);
        held.get(head).clear();
      }
    }
  }
}
