package io.nanscope.engine.simd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.parallel.WorkSplit;
import io.nanscope.engine.tensor.StorageKind;
import io.nanscope.engine.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;

/**
 * GEMM with FP32 accumulation in "dot form": {@code c[i, j] = Σ_k a[i, k] · b[j, k]} where both
 * operands are seen as rows of K contiguous values ({@link Rows}). Every output element is one
 * {@link Lanes#dot ordered reduction} over k (8 fixed lanes of fma, fixed lane combine, sequential
 * tail), so c is bit-identical to {@link #ntScalar} for any M, N, tiling, thread count and machine
 * vector width; in particular a row computed alone (decode, M = 1) equals the same row of a batch.
 *
 * <p>Blocking: B is taken in panels of {@code nb} rows decoded to FP32 (at most {@link
 * #PANEL_BYTES}, so a panel and one A tile stay in the 1 MB L2), A in tiles of 4 rows; the
 * micro-kernel computes a 4×4 block of c with 16 vector accumulators and 8 loads per 16 fmas. Panels
 * are the parallel tasks (split over N, and over M when N alone has too few panels); a task owns its
 * block of c. NN and TN reuse the same core by reading b (and a) column-wise into the panels. M = 1
 * with row-major B (matrix-vector, decode) skips the panel and streams B straight from its storage
 * (16-bit weights decoded in registers): that path is bound by memory
 * bandwidth.
 */
final class Gemm {

  /**
   * Bytes of one decoded B panel: 3/4 of Zen 4's 1 MB L2, leaving room for the A tile. Each panel
   * re-reads every A tile, so bigger panels pay: measured (CPU time, 1 thread, FP32) 52/43 GFLOP/s
   * at n = 1024/2048 with 128 KB, 66/73 with 512 KB, 74/78 with 768 KB, 72/78 with 1.5 MB.
   */
  static final int PANEL_BYTES = 768 * 1024;
  /** Rows of B per matrix-vector task. */
  static final int MATVEC_ROWS = 256;

  private static final int MR = 4;
  private static final int NR = 4;
  private static final int W = Lanes.W;

  private Gemm() {}

  // ---------------------------------------------------------------------------------------------
  // Operand views

  /** A matrix seen as {@code count} rows of {@code k} values, decoded to FP32 on demand. */
  abstract static class Rows {
    final Tensor t;
    final int count;
    final int k;
    /** True when row r is the contiguous row r of {@code t} (not a column). */
    final boolean rowMajor;

    Rows(Tensor t, int count, int k, boolean rowMajor) {
      this.t = t;
      this.count = count;
      this.k = k;
      this.rowMajor = rowMajor;
    }

    /** Writes rows {@code [r0, r0 + n)} to {@code dst[(r − r0)·k + p]}. */
    abstract void fill(int r0, int n, float[] dst);
  }

  /** The rows of a row-major (R, K) tensor. */
  static Rows rowsOf(Tensor t) {
    return new Rows(t, intRows(t), intCols(t), true) {
      @Override
      void fill(int r0, int n, float[] dst) {
        for (int r = 0; r < n; r++) {
          read(t, (long) (r0 + r) * k, dst, r * k, k);
        }
      }
    };
  }

  /** The columns of a row-major (K, R) tensor: row r of the view is column r (a transpose). */
  static Rows columnsOf(Tensor t) {
    return new Rows(t, intCols(t), intRows(t), false) {
      @Override
      void fill(int r0, int n, float[] dst) {
        float[] line = new float[n];
        long stride = count;
        for (int p = 0; p < k; p++) {
          read(t, p * stride + r0, line, 0, n);
          for (int r = 0; r < n; r++) {
            dst[r * k + p] = line[r];
          }
        }
      }
    };
  }

  /** Decodes {@code n} consecutive elements of {@code t} from flat index {@code index}. */
  static void read(Tensor t, long index, float[] dst, int off, int n) {
    switch (t.storageKind()) {
      case F32 ->
          MemorySegment.copy(
              t.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, index * 4, dst, off, n);
      case BITS16 -> Lanes.decode16(t.format(), t.segment(), index, dst, off, n);
      default -> {
        for (int i = 0; i < n; i++) {
          dst[off + i] = t.get(index + i);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // c = a · bᵀ over row views

  /** c: (M, N) row-major, c[i·N + j] = ordered dot of row i of a and row j of b. */
  static void nt(Rows a, Rows b, float[] c, int threads) {
    int m = a.count, n = b.count, k = a.k;
    if (m == 0 || n == 0) {
      return;
    }
    if (k == 0) {
      Arrays.fill(c, 0, m * n, 0f);
      return;
    }
    StorageKind bk = b.t.storageKind();
    if (m == 1 && b.rowMajor && (bk == StorageKind.F32 || bk == StorageKind.BITS16)) {
      matvec(a, b.t, n, k, c, threads);
      return;
    }
    int nb = panelRows(k);
    int nBlocks = WorkSplit.blocks(n, nb);
    int mTiles = WorkSplit.blocks(m, MR);
    // Enough tasks for every thread (x2 for balance): split M too when N has few panels.
    int mChunks = Math.min(mTiles, Math.max(1, WorkSplit.blocks(2 * threads, nBlocks)));
    int mc = WorkSplit.blocks(mTiles, mChunks) * MR;
    mChunks = WorkSplit.blocks(m, mc);
    int chunks = mChunks;
    WorkSplit.run(
        nBlocks * chunks,
        threads,
        () -> {
          float[] panel = new float[Math.multiplyExact(nb, k)];
          float[] tile = new float[MR * k];
          return task -> {
            int j0 = (task / chunks) * nb;
            int jn = Math.min(nb, n - j0);
            int i0 = (task % chunks) * mc;
            int i1 = Math.min(m, i0 + mc);
            b.fill(j0, jn, panel);
            for (int i = i0; i < i1; i += MR) {
              int mi = Math.min(MR, i1 - i);
              a.fill(i, mi, tile);
              for (int jj = 0; jj < jn; jj += NR) {
                kernel4x4(tile, mi, panel, jj * k, Math.min(NR, jn - jj), k, c, i * n + j0 + jj, n);
              }
            }
          };
        });
  }

  /** Panel height: as many rows as fit {@link #PANEL_BYTES}, a multiple of 4, at least 4. */
  static int panelRows(int k) {
    int rows = PANEL_BYTES / (4 * k);
    return Math.max(NR, Math.min(1024, rows - rows % NR));
  }

  /**
   * A 4×4 block of c from 4 rows of A at {@code at[r·k]} and 4 rows of B at {@code bp[bOff + s·k]};
   * rows past {@code mi}/{@code nj} hold stale data (the tile and panel always have room for 4) and
   * their outputs are dropped: an output depends only on its own two rows. Writes c[cOff + r·ldc + s].
   */
  static void kernel4x4(
      float[] at, int mi, float[] bp, int bOff, int nj, int k, float[] c, int cOff, int ldc) {
    int k8 = k - k % W;
    int a1 = k, a2 = 2 * k, a3 = 3 * k;
    int b0 = bOff, b1 = bOff + k, b2 = bOff + 2 * k, b3 = bOff + 3 * k;
    FloatVector c00 = FloatVector.zero(Lanes.F), c01 = c00, c02 = c00, c03 = c00;
    FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
    FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    for (int p = 0; p < k8; p += W) {
      FloatVector x0 = FloatVector.fromArray(Lanes.F, at, p);
      FloatVector x1 = FloatVector.fromArray(Lanes.F, at, a1 + p);
      FloatVector x2 = FloatVector.fromArray(Lanes.F, at, a2 + p);
      FloatVector x3 = FloatVector.fromArray(Lanes.F, at, a3 + p);
      FloatVector y0 = FloatVector.fromArray(Lanes.F, bp, b0 + p);
      FloatVector y1 = FloatVector.fromArray(Lanes.F, bp, b1 + p);
      FloatVector y2 = FloatVector.fromArray(Lanes.F, bp, b2 + p);
      FloatVector y3 = FloatVector.fromArray(Lanes.F, bp, b3 + p);
      c00 = x0.fma(y0, c00);
      c01 = x0.fma(y1, c01);
      c02 = x0.fma(y2, c02);
      c03 = x0.fma(y3, c03);
      c10 = x1.fma(y0, c10);
      c11 = x1.fma(y1, c11);
      c12 = x1.fma(y2, c12);
      c13 = x1.fma(y3, c13);
      c20 = x2.fma(y0, c20);
      c21 = x2.fma(y1, c21);
      c22 = x2.fma(y2, c22);
      c23 = x2.fma(y3, c23);
      c30 = x3.fma(y0, c30);
      c31 = x3.fma(y1, c31);
      c32 = x3.fma(y2, c32);
      c33 = x3.fma(y3, c33);
    }
    // Straight-line stores: putting the accumulators in an array would make C2 box them.
    if (mi > 0) {
      int co = cOff + 0 * ldc, ao = 0 * k;
      if (nj > 0) c[co + 0] = finish(c00, at, ao, bp, b0, k8, k);
      if (nj > 1) c[co + 1] = finish(c01, at, ao, bp, b1, k8, k);
      if (nj > 2) c[co + 2] = finish(c02, at, ao, bp, b2, k8, k);
      if (nj > 3) c[co + 3] = finish(c03, at, ao, bp, b3, k8, k);
    }
    if (mi > 1) {
      int co = cOff + 1 * ldc, ao = 1 * k;
      if (nj > 0) c[co + 0] = finish(c10, at, ao, bp, b0, k8, k);
      if (nj > 1) c[co + 1] = finish(c11, at, ao, bp, b1, k8, k);
      if (nj > 2) c[co + 2] = finish(c12, at, ao, bp, b2, k8, k);
      if (nj > 3) c[co + 3] = finish(c13, at, ao, bp, b3, k8, k);
    }
    if (mi > 2) {
      int co = cOff + 2 * ldc, ao = 2 * k;
      if (nj > 0) c[co + 0] = finish(c20, at, ao, bp, b0, k8, k);
      if (nj > 1) c[co + 1] = finish(c21, at, ao, bp, b1, k8, k);
      if (nj > 2) c[co + 2] = finish(c22, at, ao, bp, b2, k8, k);
      if (nj > 3) c[co + 3] = finish(c23, at, ao, bp, b3, k8, k);
    }
    if (mi > 3) {
      int co = cOff + 3 * ldc, ao = 3 * k;
      if (nj > 0) c[co + 0] = finish(c30, at, ao, bp, b0, k8, k);
      if (nj > 1) c[co + 1] = finish(c31, at, ao, bp, b1, k8, k);
      if (nj > 2) c[co + 2] = finish(c32, at, ao, bp, b2, k8, k);
      if (nj > 3) c[co + 3] = finish(c33, at, ao, bp, b3, k8, k);
    }
  }

  /** Lane combine then the sequential fma tail over [k8, k): the end of an ordered dot. */
  private static float finish(FloatVector acc, float[] a, int ao, float[] b, int bo, int k8, int k) {
    float s = Lanes.reduce8(acc);
    for (int p = k8; p < k; p++) {
      s = Math.fma(a[ao + p], b[bo + p], s);
    }
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // Matrix-vector: c[j] = x · b[j, :], B streamed from its storage

  private static void matvec(Rows a, Tensor b, int n, int k, float[] c, int threads) {
    float[] x = new float[k];
    a.fill(0, 1, x);
    MemorySegment seg = b.segment();
    FloatFormat f16 = b.storageKind() == StorageKind.BITS16 ? b.format() : null;
    WorkSplit.run(
        WorkSplit.blocks(n, MATVEC_ROWS),
        threads,
        () -> {
          float[] scratch = new float[k];
          float[] tail = new float[W];
          IntConsumer body =
              task -> {
                int j1 = Math.min(n, (task + 1) * MATVEC_ROWS);
                int j = task * MATVEC_ROWS;
                for (; j + NR <= j1; j += NR) {
                  if (f16 == null) {
                    matvec4(x, seg, j, k, c, tail);
                  } else if (f16 == FloatFormat.BF16) {
                    matvec4Bf16(x, seg, j, k, c, tail);
                  } else {
                    matvec4Fp16(x, seg, j, k, c, tail, scratch);
                  }
                }
                for (; j < j1; j++) { // at most 3 rows: decode the row, then the same ordered dot
                  read(b, (long) j * k, scratch, 0, k);
                  c[j] = Lanes.dot(x, 0, scratch, 0, k);
                }
              };
          return body;
        });
  }

  /** Four FP32 rows of B streamed straight from storage into 4 independent fma chains. */
  private static void matvec4(float[] x, MemorySegment seg, int j, int k, float[] c, float[] tail) {
    int k8 = k - k % W;
    long r0 = (long) j * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
    FloatVector s0 = FloatVector.zero(Lanes.F), s1 = s0, s2 = s0, s3 = s0;
    for (int p = 0; p < k8; p += W) {
      FloatVector xv = FloatVector.fromArray(Lanes.F, x, p);
      s0 = xv.fma(loadF32(seg, r0 + p), s0);
      s1 = xv.fma(loadF32(seg, r1 + p), s1);
      s2 = xv.fma(loadF32(seg, r2 + p), s2);
      s3 = xv.fma(loadF32(seg, r3 + p), s3);
    }
    c[j] = finishSeg(s0, x, seg, null, r0, k8, k, tail);
    c[j + 1] = finishSeg(s1, x, seg, null, r1, k8, k, tail);
    c[j + 2] = finishSeg(s2, x, seg, null, r2, k8, k, tail);
    c[j + 3] = finishSeg(s3, x, seg, null, r3, k8, k, tail);
  }

  /** {@link #matvec4} for BF16 rows, decoded in registers (a shift: small enough to inline 4×). */
  private static void matvec4Bf16(
      float[] x, MemorySegment seg, int j, int k, float[] c, float[] tail) {
    int k8 = k - k % W;
    long r0 = (long) j * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
    FloatVector s0 = FloatVector.zero(Lanes.F), s1 = s0, s2 = s0, s3 = s0;
    for (int p = 0; p < k8; p += W) {
      FloatVector xv = FloatVector.fromArray(Lanes.F, x, p);
      s0 = xv.fma(Lanes.decodeBf16(seg, r0 + p), s0);
      s1 = xv.fma(Lanes.decodeBf16(seg, r1 + p), s1);
      s2 = xv.fma(Lanes.decodeBf16(seg, r2 + p), s2);
      s3 = xv.fma(Lanes.decodeBf16(seg, r3 + p), s3);
    }
    c[j] = finishSeg(s0, x, seg, FloatFormat.BF16, r0, k8, k, tail);
    c[j + 1] = finishSeg(s1, x, seg, FloatFormat.BF16, r1, k8, k, tail);
    c[j + 2] = finishSeg(s2, x, seg, FloatFormat.BF16, r2, k8, k, tail);
    c[j + 3] = finishSeg(s3, x, seg, FloatFormat.BF16, r3, k8, k, tail);
  }

  private static FloatVector loadF32(MemorySegment seg, long index) {
    return FloatVector.fromMemorySegment(Lanes.F, seg, index * 4, ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * {@link #matvec4} for FP16 rows, decoded in registers by {@link Lanes#decodeFp16Finite}: exact
   * for finite weights; a row holding an inf or NaN weight gets a non-finite result there, and any
   * non-finite result is recomputed from the exactly decoded row (same ordered dot, so the bits are
   * those of {@link #ntScalar} either way). Measured against the former decode into L1 scratch
   * through {@code Float.float16ToFloat}: see docs/kernels.md.
   */
  private static void matvec4Fp16(
      float[] x, MemorySegment seg, int j, int k, float[] c, float[] tail, float[] row) {
    int k8 = k - k % W;
    long r0 = (long) j * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
    FloatVector s0 = FloatVector.zero(Lanes.F), s1 = s0, s2 = s0, s3 = s0;
    for (int p = 0; p < k8; p += W) {
      FloatVector xv = FloatVector.fromArray(Lanes.F, x, p);
      s0 = xv.fma(Lanes.decodeFp16Finite(seg, r0 + p), s0);
      s1 = xv.fma(Lanes.decodeFp16Finite(seg, r1 + p), s1);
      s2 = xv.fma(Lanes.decodeFp16Finite(seg, r2 + p), s2);
      s3 = xv.fma(Lanes.decodeFp16Finite(seg, r3 + p), s3);
    }
    c[j] = finishSeg(s0, x, seg, FloatFormat.FP16, r0, k8, k, tail);
    c[j + 1] = finishSeg(s1, x, seg, FloatFormat.FP16, r1, k8, k, tail);
    c[j + 2] = finishSeg(s2, x, seg, FloatFormat.FP16, r2, k8, k, tail);
    c[j + 3] = finishSeg(s3, x, seg, FloatFormat.FP16, r3, k8, k, tail);
    for (int r = 0; r < NR; r++) {
      if (!Float.isFinite(c[j + r])) {
        Lanes.decode16(FloatFormat.FP16, seg, r0 + (long) r * k, row, 0, k);
        c[j + r] = Lanes.dot(x, 0, row, 0, k);
      }
    }
  }

  /** The end of an ordered dot whose tail b[row + k8 .. row + k) is read from storage. */
  private static float finishSeg(
      FloatVector acc, float[] x, MemorySegment seg, FloatFormat f16, long row, int k8, int k,
      float[] tail) {
    int nt = k - k8;
    if (f16 == null) {
      MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT_UNALIGNED, (row + k8) * 4, tail, 0, nt);
    } else {
      Lanes.decode16Scalar(f16, seg, row + k8, tail, 0, nt);
    }
    float s = Lanes.reduce8(acc);
    for (int p = 0; p < nt; p++) {
      s = Math.fma(x[k8 + p], tail[p], s);
    }
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // Scalar twin

  /** The scalar twin of {@link #nt}: one {@link Lanes#dotScalar} per output. */
  static void ntScalar(Rows a, Rows b, float[] c) {
    int m = a.count, n = b.count, k = a.k;
    float[] ar = new float[k];
    float[] br = new float[k];
    for (int i = 0; i < m; i++) {
      a.fill(i, 1, ar);
      for (int j = 0; j < n; j++) {
        b.fill(j, 1, br);
        c[i * n + j] = Lanes.dotScalar(ar, 0, br, 0, k);
      }
    }
  }

  /** Rows of the rank-2 view: the product of all dimensions but the last (1 for a (1, 0) tensor). */
  static int intRows(Tensor t) {
    long[] dims = t.shape().dims();
    long rows = 1;
    for (int i = 0; i < dims.length - 1; i++) {
      rows = Math.multiplyExact(rows, dims[i]);
    }
    return Math.toIntExact(rows);
  }

  static int intCols(Tensor t) {
    return Math.toIntExact(t.shape().cols());
  }
}
