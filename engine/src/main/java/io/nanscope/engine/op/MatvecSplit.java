package io.nanscope.engine.op;

import io.nanscope.engine.parallel.WorkSplit;
import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Tensor;

/**
 * The matvecs of a big model's decode step on several threads: {@code outs[m] = ws[m]·x} for every
 * m (matrices that read the same input, e.g. q/k/v or gate/up, share one split), in blocks of
 * {@link #ROWS} rows; each block is {@link Kernels#matmulNT} on one thread, so every output is the
 * same ordered dot whatever the thread count (bit-identical for any split).
 *
 * <p>One {@link WorkSplit} over the blocks of all the matrices: fewer splits (q/k/v and gate/up
 * grouped) mean fewer hand-offs, and WorkSplit waits only for blocks a thread has claimed, so a
 * helper that gets no core on a shared machine costs nothing.
 */
final class MatvecSplit {

  /** Rows per block: 256 rows of a 4096-wide BF16 weight are 2 MB, well above the hand-off cost. */
  static final int ROWS = 256;

  private MatvecSplit() {}

  /**
   * {@code outs[m] = ws[m]·x} (x: (1, K), ws[m]: (N_m, K), outs[m]: N_m) on up to {@code threads}
   * threads.
   */
  static void matvecs(Tensor x, Tensor[] ws, float[][] outs, int threads) {
    int[] first = new int[ws.length + 1]; // first block of matrix m
    for (int m = 0; m < ws.length; m++) {
      if (outs[m].length < rows(ws[m])) {
        throw new IllegalArgumentException(
            "matvec "
                + m
                + ": the weight has "
                + rows(ws[m])
                + " rows but the output holds "
                + outs[m].length);
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
    WorkSplit.run(
        tasks,
        threads,
        () ->
            t -> {
              int m = 0;
              while (first[m + 1] <= t) {
                m++;
              }
              int r0 = (t - first[m]) * ROWS;
              int r1 = Math.min(rows(ws[m]), r0 + ROWS);
              float[] block = new float[r1 - r0];
              Kernels.matmulNT(x, ws[m].slice(r0, r1), block, 1);
              System.arraycopy(block, 0, outs[m], r0, r1 - r0);
            });
  }

  private static int rows(Tensor w) {
    return Math.toIntExact(w.shape().rows());
  }

  private static int blocks(Tensor w) {
    return (rows(w) + ROWS - 1) / ROWS;
  }
}
