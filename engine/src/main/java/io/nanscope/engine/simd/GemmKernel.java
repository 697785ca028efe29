package io.nanscope.engine.simd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.lanes.Lanes;
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
 * <p>Two blocked GEMMs, the same bits, chosen by {@link Width}: on a CPU with 512-bit vectors
 * {@link LaneSplitGemm} (16 outputs per register, the 8 lane sums of each output kept in separate
 * accumulators: an outer-product micro-kernel), elsewhere {@link #blockedDot}, described here. A
 * task owns a block of c of at most {@link #MC} × {@link #NB} outputs (tasks split N, and M when N
 * alone has too few blocks) and walks K in blocks of {@link #KC}: the B panel (NB × KC, decoded to
 * FP32) stays in L2, each A tile (4 × KC) and B micro-panel in L1; the micro-kernel computes a 4×4
 * block with 16 vector accumulators and 8 loads per 16 fmas, and keeps the accumulators of the
 * task's block in a scratch between K blocks, so every lane's fma chain is the unblocked one. NN
 * and TN reuse the same core by reading b (and a) column-wise into the panels. M = 1 with row-major
 * B (matrix-vector, decode) skips the panel and streams B straight from its storage (16-bit weights
 * decoded in registers): that path is bound by memory bandwidth.
 *
 * <p>Small shapes (M·N·K ≤ {@link #SMALL}) skip the blocking ({@link #small}).
 */
final class GemmKernel {

  /** Rows of B per matrix-vector task. */
  static final int MATVEC_ROWS = 256;

  private static final int MR = 4;
  private static final int NR = 4;
  private static final int W = Lanes.W;

  private GemmKernel() {}

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
    final void fill(int r0, int n, float[] dst) {
      fill(r0, n, 0, k, dst);
    }

    /**
     * Writes columns {@code [p0, p0 + len)} of rows {@code [r0, r0 + n)} to {@code dst[(r − r0)·len
     * + (p − p0)]} (one K block of the rows, packed).
     */
    abstract void fill(int r0, int n, int p0, int len, float[] dst);
  }

  /** The rows of a row-major (R, K) tensor. */
  static Rows rowsOf(Tensor t) {
    return new Rows(t, intRows(t), intCols(t), true) {
      @Override
      void fill(int r0, int n, int p0, int len, float[] dst) {
        for (int r = 0; r < n; r++) {
          read(t, (long) (r0 + r) * k + p0, dst, r * len, len);
        }
      }
    };
  }

  /** The columns of a row-major (K, R) tensor: row r of the view is column r (a transpose). */
  static Rows columnsOf(Tensor t) {
    return new Rows(t, intCols(t), intRows(t), false) {
      @Override
      void fill(int r0, int n, int p0, int len, float[] dst) {
        float[] line = new float[n];
        long stride = count;
        for (int p = 0; p < len; p++) {
          read(t, (p0 + p) * stride + r0, line, 0, n);
          for (int r = 0; r < n; r++) {
            dst[r * len + p] = line[r];
          }
        }
      }
    };
  }

  /** Decodes {@code n} consecutive elements of {@code t} from flat index {@code index}. */
  static void read(Tensor t, long index, float[] dst, int off, int n) {
    switch (t.storageKind()) {
      case F32 ->
          MemorySegment.copy(t.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, index * 4, dst, off, n);
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
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
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
      matvec(a, b.t, n, k, c, (long) n * k <= SMALL_MATVEC ? 1 : threads);
      return;
    }
    if ((long) m * n * k <= SMALL) {
      small(a, b, c);
    } else {
      blocked(a, b, c, threads, Width.WIDE);
    }
  }

  /**
   * The blocked GEMM (K ≥ 1, any M, N ≥ 1) at the width chosen explicitly: {@code wide} runs {@link
   * LaneSplitGemm} (512-bit vectors of 16 outputs, the 8 lane sums of each kept apart), else {@link
   * #blockedDot} (256-bit vectors each holding the 8 lanes of one output). The bits are the same;
   * the tests run both on one machine.
   */
  static void blocked(Rows a, Rows b, float[] c, int threads, boolean wide) {
    if (wide) {
      LaneSplitGemm.nt(a, b, c, threads);
    } else {
      blockedDot(a, b, c, threads);
    }
  }

  /**
   * The 256-bit blocked GEMM in dot form: {@link #kernel4x4} tiles of 4 × 4 outputs, each output's
   * 8 lanes in one vector ({@link #block}).
   */
  static void blockedDot(Rows a, Rows b, float[] c, int threads) {
    int m = a.count, n = b.count, k = a.k;
    int nBlocks = WorkSplit.blocks(n, NB);
    int mTiles = WorkSplit.blocks(m, MR);
    // At most MC rows per task (at most 2 MB of accumulators); more M chunks when N alone has too
    // few blocks for every thread (x2 for balance).
    int mChunks =
        Math.max(WorkSplit.blocks(m, MC), Math.min(mTiles, WorkSplit.blocks(2 * threads, nBlocks)));
    int mc = WorkSplit.blocks(mTiles, mChunks) * MR;
    int chunks = WorkSplit.blocks(m, mc);
    WorkSplit.run(
        nBlocks * chunks,
        threads,
        () -> {
          int kcMax = Math.min(KC, k - k % W);
          int nb = WorkSplit.blocks(Math.min(NB, n), NR) * NR; // small N: small scratch
          float[] panel = new float[Math.max(1, nb * kcMax)];
          float[] tile = new float[Math.max(1, MR * kcMax)];
          float[] acc = new float[mc * nb * W];
          float[] aTail = new float[mc * W];
          float[] bTail = new float[nb * W];
          return task -> {
            int j0 = (task / chunks) * NB;
            int jn = Math.min(NB, n - j0);
            int i0 = (task % chunks) * mc;
            int mi = Math.min(mc, m - i0);
            block(a, b, i0, mi, j0, jn, c, n, panel, tile, acc, aTail, bTail);
          };
        });
  }

  /**
   * Most multiply-adds (M·N·K) for {@link #small}: about 20 µs of work at 50 GFLOP/s, less than
   * handing tasks to a second thread costs. stories260K's shapes (C = 64, F = 172, T ≤ 20 in the
   * repro's prompts) are all below; 7B's are far above.
   */
  static final long SMALL = 1L << 20;

  /** Most weights (N·K) for which the matrix-vector product stays on the calling thread. */
  static final long SMALL_MATVEC = 1L << 17;

  /**
   * Small shapes on the calling thread without the blocked machinery (K blocks, task split, the
   * per-task accumulator scratch): both operands are decoded once into row buffers of K8 = K − K
   * mod 8 values (rows padded to a multiple of 4), then every 4×4 block runs {@link #kernel4x4}
   * over all of K8 from zero and is finished at once (lane combine, sequential tail). The fma chain
   * of every lane is the one of {@link #block}, so the bits are the same.
   */
  static void small(Rows a, Rows b, float[] c) {
    int m = a.count, n = b.count, k = a.k;
    int k8 = k - k % W, t = k - k8;
    float[] ap = new float[Math.max(1, WorkSplit.blocks(m, MR) * MR * k8)];
    float[] bp = new float[Math.max(1, WorkSplit.blocks(n, NR) * NR * k8)];
    a.fill(0, m, 0, k8, ap);
    b.fill(0, n, 0, k8, bp);
    float[] aTail = new float[m * t];
    float[] bTail = new float[n * t];
    if (t > 0) {
      a.fill(0, m, k8, t, aTail);
      b.fill(0, n, k8, t, bTail);
    }
    float[] acc = new float[MR * NR * W];
    float[] sums = new float[MR * NR];
    for (int i = 0; i < m; i += MR) {
      for (int j = 0; j < n; j += NR) {
        kernel4x4(ap, i * k8, bp, j * k8, k8, acc, 0, true);
        // Lane combine of all 16 outputs, 8 at a time (rows r, r + 1 of the tile)
        Lanes.reduce8x8(acc, 0, sums, 0);
        Lanes.reduce8x8(acc, 8 * W, sums, 8);
        for (int r = 0; r < Math.min(MR, m - i); r++) {
          for (int s = 0; s < Math.min(NR, n - j); s++) {
            float v = sums[r * NR + s];
            for (int p = 0; p < t; p++) {
              v = Math.fma(aTail[(i + r) * t + p], bTail[(j + s) * t + p], v);
            }
            c[(i + r) * n + j + s] = v;
          }
        }
      }
    }
  }

  /**
   * The block c[i0 .. i0+mi, j0 .. j0+jn) of one task, K-blocked: for each K block of at most
   * {@link #KC} (a multiple of 8) the B panel (jn × kl) and then each A tile (4 × kl) are packed,
   * and every 4×4 micro-kernel carries its 16 vector accumulators over from the previous K block
   * through {@code acc} (loaded before, stored after). Each lane therefore sees the same fma chain
   * in the same order as with no blocking; the lane combine and the sequential tail over [K8, K)
   * come once at the end ({@link #finish}).
   */
  private static void block(
      Rows a,
      Rows b,
      int i0,
      int mi,
      int j0,
      int jn,
      float[] c,
      int ldc,
      float[] panel,
      float[] tile,
      float[] acc,
      float[] aTail,
      float[] bTail) {
    int k = a.k;
    int k8 = k - k % W;
    int jTiles = WorkSplit.blocks(jn, NR);
    int t = k - k8;
    a.fill(i0, mi, k8, t, aTail);
    b.fill(j0, jn, k8, t, bTail);
    for (int p0 = 0; p0 < k8; p0 += KC) {
      int kl = Math.min(KC, k8 - p0);
      b.fill(j0, jn, p0, kl, panel);
      for (int i = 0; i < mi; i += MR) {
        a.fill(i0 + i, Math.min(MR, mi - i), p0, kl, tile);
        int accRow = (i / MR) * jTiles;
        for (int jj = 0; jj < jTiles; jj++) {
          kernel4x4(tile, 0, panel, jj * NR * kl, kl, acc, (accRow + jj) * MR * NR * W, p0 == 0);
        }
      }
    }
    if (k8 == 0) {
      Arrays.fill(acc, 0, WorkSplit.blocks(mi, MR) * jTiles * MR * NR * W, 0f);
    }
    finish(acc, mi, MR, jn, NR, jTiles, aTail, bTail, t, c, i0 * ldc + j0, ldc);
  }

  /**
   * The end of every ordered dot of a task's block: the lane combine of its 8 accumulators ({@link
   * Lanes#reduce8}), then the sequential fma tail over the last {@code t} terms (rows of the tails
   * at {@code aTail[r·t]}, {@code bTail[s·t]}). Writes c[cOff + r·ldc + s].
   */
  private static void finish(
      float[] acc,
      int mi,
      int mr,
      int jn,
      int nr,
      int jTiles,
      float[] aTail,
      float[] bTail,
      int t,
      float[] c,
      int cOff,
      int ldc) {
    for (int i = 0; i < mi; i += mr) {
      for (int j = 0; j < jn; j += nr) {
        int off = ((i / mr) * jTiles + j / nr) * mr * nr * W;
        for (int r = 0; r < Math.min(mr, mi - i); r++) {
          for (int s = 0; s < Math.min(nr, jn - j); s++) {
            float v = Lanes.reduce8(FloatVector.fromArray(Lanes.F, acc, off + (r * nr + s) * W));
            for (int p = 0; p < t; p++) {
              v = Math.fma(aTail[(i + r) * t + p], bTail[(j + s) * t + p], v);
            }
            c[cOff + (i + r) * ldc + j + s] = v;
          }
        }
      }
    }
  }

  // Block sizes, measured (CPU time, 1 thread, FP32; GFLOP/s at 2048³ / 512×4096×11008):
  // KC/NB/MC 512/64/128: 70/73; 512/128/128: 79/78; 512/128/256: 78/85; 256/128/256: 79/81;
  // 1024/128/128: 80/78; 512/256/512: 84/86 (but 66 at 1024³); 512/384/512: 77/87; 256/512/512:
  // 69/52; 512/256/256: 82-84/85 (77 at 1024³), kept.

  /** K-block size: the A tile (4 × KC, 8 KB) and a B micro-panel (4 × KC) stay in L1. */
  static final int KC = 512;

  /** B rows per task: the packed panel (NB × KC, 512 KB) stays in L2. */
  static final int NB = 256;

  /**
   * Most A rows per task. Its accumulators (MC × NB × 8 floats, 2 MB) live in L3; each is loaded
   * and stored once per K block (per 4×4 block: 32 vector moves per 1024 fmas), streaming.
   */
  static final int MC = 256;

  private static final float[] ZEROS = new float[MR * NR * W];

  /**
   * A 4×4 block of accumulators over one K block: rows of A at {@code at[aOff + r·kl]} and of B at
   * {@code bp[bOff + s·kl]}, lane vectors of output (r, s) at {@code acc[accOff + (4r + s)·8]}.
   * Rows of the tile or panel past the block's edge hold stale data; their outputs are never read.
   */
  static void kernel4x4(
      float[] at, int aOff, float[] bp, int bOff, int kl, float[] acc, int accOff, boolean first) {
    int a0 = aOff, a1 = aOff + kl, a2 = aOff + 2 * kl, a3 = aOff + 3 * kl;
    int b0 = bOff, b1 = bOff + kl, b2 = bOff + 2 * kl, b3 = bOff + 3 * kl;
    float[] in = first ? ZEROS : acc; // the first K block starts from zero
    int inOff = first ? 0 : accOff;
    FloatVector c00 = FloatVector.fromArray(Lanes.F, in, inOff);
    FloatVector c01 = FloatVector.fromArray(Lanes.F, in, inOff + W);
    FloatVector c02 = FloatVector.fromArray(Lanes.F, in, inOff + 2 * W);
    FloatVector c03 = FloatVector.fromArray(Lanes.F, in, inOff + 3 * W);
    FloatVector c10 = FloatVector.fromArray(Lanes.F, in, inOff + 4 * W);
    FloatVector c11 = FloatVector.fromArray(Lanes.F, in, inOff + 5 * W);
    FloatVector c12 = FloatVector.fromArray(Lanes.F, in, inOff + 6 * W);
    FloatVector c13 = FloatVector.fromArray(Lanes.F, in, inOff + 7 * W);
    FloatVector c20 = FloatVector.fromArray(Lanes.F, in, inOff + 8 * W);
    FloatVector c21 = FloatVector.fromArray(Lanes.F, in, inOff + 9 * W);
    FloatVector c22 = FloatVector.fromArray(Lanes.F, in, inOff + 10 * W);
    FloatVector c23 = FloatVector.fromArray(Lanes.F, in, inOff + 11 * W);
    FloatVector c30 = FloatVector.fromArray(Lanes.F, in, inOff + 12 * W);
    FloatVector c31 = FloatVector.fromArray(Lanes.F, in, inOff + 13 * W);
    FloatVector c32 = FloatVector.fromArray(Lanes.F, in, inOff + 14 * W);
    FloatVector c33 = FloatVector.fromArray(Lanes.F, in, inOff + 15 * W);
    for (int p = 0; p < kl; p += W) {
      FloatVector x0 = FloatVector.fromArray(Lanes.F, at, a0 + p);
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
    c00.intoArray(acc, accOff);
    c01.intoArray(acc, accOff + W);
    c02.intoArray(acc, accOff + 2 * W);
    c03.intoArray(acc, accOff + 3 * W);
    c10.intoArray(acc, accOff + 4 * W);
    c11.intoArray(acc, accOff + 5 * W);
    c12.intoArray(acc, accOff + 6 * W);
    c13.intoArray(acc, accOff + 7 * W);
    c20.intoArray(acc, accOff + 8 * W);
    c21.intoArray(acc, accOff + 9 * W);
    c22.intoArray(acc, accOff + 10 * W);
    c23.intoArray(acc, accOff + 11 * W);
    c30.intoArray(acc, accOff + 12 * W);
    c31.intoArray(acc, accOff + 13 * W);
    c32.intoArray(acc, accOff + 14 * W);
    c33.intoArray(acc, accOff + 15 * W);
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
   * through {@code Float.float16ToFloat}: see docs/guide/kernels.md.
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
      FloatVector acc,
      float[] x,
      MemorySegment seg,
      FloatFormat f16,
      long row,
      int k8,
      int k,
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

  /**
   * Rows of the rank-2 view: the product of all dimensions but the last (1 for a (1, 0) tensor).
   */
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
