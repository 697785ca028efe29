package io.nanscope.llama.model;

import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Tensor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The matvecs of a big model's decode step on several threads: {@code outs[m] = ws[m]·x} for every
 * m (matrices that read the same input, e.g. q/k/v or gate/up, share one split), in blocks of
 * {@link #ROWS} rows; each block is {@link Kernels#matmulNT} on one thread, so every output is the
 * same ordered dot whatever the thread count (bit-identical for any split).
 *
 * <p>Why not one {@code WorkSplit} per matvec: on a shared machine a helper thread may not get a
 * core before the caller has done every block; joining it would then wait a scheduler time slice
 * for nothing, at every matvec (7 per layer). Here the caller waits only for blocks a helper has
 * claimed: a helper that starts late finds no block left and returns. Fewer splits (q/k/v and
 * gate/up grouped) also mean fewer hand-offs.
 */
final class MatvecSplit {

  /** Rows per block: 256 rows of a 4096-wide BF16 weight are 2 MB, well above the hand-off cost. */
  static final int ROWS = 256;

  private static final class Pool {
    static final ForkJoinPool POOL =
        new ForkJoinPool(Math.max(1, Runtime.getRuntime().availableProcessors()),
            ForkJoinPool.defaultForkJoinWorkerThreadFactory, null, false);
  }

  private MatvecSplit() {}

  /** {@code outs[m] = ws[m]·x} (x: (1, K), ws[m]: (N_m, K), outs[m]: N_m) on up to {@code threads} threads. */
  static void matvecs(Tensor x, Tensor[] ws, float[][] outs, int threads) {
    int[] first = new int[ws.length + 1]; // first block of matrix m
    for (int m = 0; m < ws.length; m++) {
      if (outs[m].length < rows(ws[m])) {
        throw new IllegalArgumentException(
            "matvec " + m + ": the weight has " + rows(ws[m]) + " rows but the output holds " + outs[m].length);
      }
      first[m + 1] = first[m] + blocks(ws[m]);
    }
    int tasks = first[ws.length];
    if (threads <= 1 || tasks <= 1) {
      for (int m = 0; m < ws.length; m++) {
        Kernels.matmulNT(x, ws[m], outs[m], 1);
      }
      return;
    }
    AtomicInteger next = new AtomicInteger();
    AtomicInteger done = new AtomicInteger();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Runnable work = () -> {
      for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) {
        try {
          int m = 0;
          while (first[m + 1] <= t) {
            m++;
          }
          int r0 = (t - first[m]) * ROWS;
          int r1 = Math.min(rows(ws[m]), r0 + ROWS);
          float[] block = new float[r1 - r0];
          Kernels.matmulNT(x, ws[m].slice(r0, r1), block, 1);
          System.arraycopy(block, 0, outs[m], r0, r1 - r0);
        } catch (RuntimeException | Error e) {
          failure.compareAndSet(null, e);
        } finally {
          done.incrementAndGet();
        }
      }
    };
    for (int i = 1; i < threads; i++) {
      Pool.POOL.execute(work);
    }
    work.run();
    for (int spins = 0; done.get() < tasks; spins++) {
      if (spins < 1 << 10) {
        Thread.onSpinWait();
      } else {
        Thread.yield();
      }
    }
    Throwable f = failure.get();
    if (f instanceof RuntimeException re) {
      throw re;
    }
    if (f instanceof Error err) {
      throw err;
    }
  }

  private static int rows(Tensor w) {
    return Math.toIntExact(w.shape().rows());
  }

  private static int blocks(Tensor w) {
    return (rows(w) + ROWS - 1) / ROWS;
  }
}
