package io.nanscope.engine.simd;

import io.nanscope.engine.lanes.Lanes;
import io.nanscope.engine.parallel.WorkSplit;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The blocked GEMM of {@link GemmKernel} at 512 bits, with the outputs across the vector and the 8
 * canonical lane sums of every output kept apart: the bits of the dot form ({@link Lanes}), which
 * do not depend on the vector width.
 *
 * <p>The canonical order gives output (i, j) eight sums, lane l holding {@code S_l = fma(a[i,
 * 8(Q−1)+l], b[j, 8(Q−1)+l], … fma(a[i, l], b[j, l], +0))} (Q = ⌊K/8⌋ steps, sequential), then
 * combines {@code ((S0+S4)+(S2+S6))+((S1+S5)+(S3+S7))} and adds the K mod 8 tail terms one by one.
 * Lane l alone is an ordinary GEMM over the Q terms k ≡ l (mod 8) with a sum sequential in k, so it
 * runs as an outer-product micro-kernel: a vector of 16 consecutive outputs j of one row i is
 * updated by a broadcast a[i, k] times the vector of b[j.., k]; every output's fma chain is the
 * same whatever the vector holds. This class runs the eight lane GEMMs side by side, keeps their
 * partial sums in eight planes between K blocks, and combines the planes at the end lanewise in
 * {@link Lanes#reduce8}'s order (per output, the same adds in the same order).
 *
 * <p>Blocking. A is packed once per call, lane by lane ({@link #packA}). A block of c has at most
 * {@link #MC} × {@link #NB} outputs; a task is a whole B block (all its M chunks) when there are at
 * least 4 B blocks per thread, else one M chunk of a B block. The B panel of a block (NB rows, all
 * of K) is packed lane by lane, K block by K block ({@link #packPanel}, a transpose done with
 * gathers from staged rows) into the thread's 64-byte aligned native buffer, and kept while the
 * thread's blocks have the same rows. Per K block of {@link #KCQ} steps per lane (8·KCQ terms),
 * lane by lane and row tile by row tile, an A micro-panel (12 rows, 12 KB) stays in L1 while the
 * lane's B micro-panels of the block (32 columns, 32 KB each) stream past it from L2. The planes (8
 * × MC × NB floats, 960 KB) are stored once per micro-kernel call and loaded only when K spans more
 * than one K block.
 */
final class LaneSplitGemm {

  private static final int W = Lanes.W;

  /** Steps per lane in one K block (8·KCQ terms of k): the micro-kernel's loop length. */
  static final int KCQ = 256;

  /** B rows (outputs j) per block: one lane's part of a K block of the panel is NB × KCQ floats. */
  static final int NB = 256;

  /**
   * Most A rows per block of c (a multiple of {@link #MR}): the planes, 8 × MC × NB floats, fit in
   * L2 next to one lane's part of the B panel's K block.
   */
  static final int MC = 120;

  /** Rows (i) and outputs (j) of the micro-tile: 24 accumulators of 16 lanes. */
  static final int MR = 12, NR = 32;

  private static final int TILE = MR * NR;

  static final VectorSpecies<Float> V16 = FloatVector.SPECIES_512;

  private static final float[] ZEROS = new float[TILE];

  // Block sizes, measured on an Intel Xeon (KVM, 2 vCPUs, L2 2 MB per core), FP32 2048³, one
  // thread, CPU time, machine under load (GFLOP/s): KCQ/NB/MC 128/128/512: 72-78; 64/128/512:
  // 76-85; 64/256/252: 92-97; 128/128/252: 86; 64/128/252: 83; 64/512/252: 90-92; 128/256/256: 89.
  // With B packed once per thread and call (medians of 5, load 5-7): 64/256/252: 96-100;
  // 64/256/120: 99-103; 64/256/72: 99; 128/256/120: 105; 128/128/120: 92; 128/384/120: 106;
  // 64/512/120: 106. 512x11008x4096 and 4096³: 64/256/120 100-103, 64/256/252 99-102.
  // Lane-outer runs with the B panel aligned (2026-12-07, load 1-2, medians of 5, 1024³ / 2048³ /
  // 512x11008x4096): 256/256/120 97 / 108 / 113; 256/512/120 99 / 119 / 115; 256/128/240 109 / 102
  // / 113; 256/256/240 104 / 113 / 111; 128/256/120 100 / 109 / 113; 256/512/60 95 / 112 / 109.

  private LaneSplitGemm() {}

  /** c = a·bᵀ (M, N) with K ≥ 1 and M, N ≥ 1. */
  static void nt(GemmKernel.Rows a, GemmKernel.Rows b, float[] c, int threads) {
    int m = a.count, n = b.count;
    int nBlocks = WorkSplit.blocks(n, NB);
    int mTiles = WorkSplit.blocks(m, MR);
    // At most MC rows per task; more M chunks when N alone has too few blocks for every thread.
    int mChunks =
        Math.max(WorkSplit.blocks(m, MC), Math.min(mTiles, WorkSplit.blocks(2 * threads, nBlocks)));
    int mc = WorkSplit.blocks(mTiles, mChunks) * MR;
    int chunks = WorkSplit.blocks(m, mc);
    int k = a.k;
    int qn = k / W, t = k - W * qn;
    float[] ap = new float[Math.multiplyExact(mTiles * MR, W * qn)];
    float[] aTail = new float[m * t];
    packA(a, qn, ap, aTail, threads);
    // With enough B blocks for every thread, a task is a whole B block (all its M chunks): each B
    // block is then packed by one thread only. Otherwise a task is one M chunk of a B block, and
    // threads that share a B block each pack it.
    boolean byB = nBlocks >= 4 * threads;
    WorkSplit.run(
        byB ? nBlocks : nBlocks * chunks,
        threads,
        () -> {
          int kcq = Math.max(1, Math.min(KCQ, qn));
          int nbp = WorkSplit.blocks(Math.min(NB, n), NR) * NR;
          Scratch s = new Scratch();
          s.ap = ap;
          s.aTail = aTail;
          s.mTiles = mTiles;
          s.stage = new float[NR * W * kcq];
          s.panel = panelFor(Math.max(1, Math.multiplyExact(nbp * W, qn)));
          s.panelJ0 = -1;
          s.planes = new float[W * mc * nbp];
          s.bTail = new float[Math.max(1, nbp * t)];
          s.bTailT = new float[Math.max(1, nbp * t)];
          s.index = new int[NR];
          return task -> {
            int first = byB ? task * chunks : task, last = byB ? first + chunks : task + 1;
            for (int x = first; x < last; x++) {
              int j0 = (x / chunks) * NB;
              int i0 = (x % chunks) * mc;
              block(a, b, i0, Math.min(mc, m - i0), j0, Math.min(NB, n - j0), c, n, s);
            }
          };
        });
  }

  /** Each thread's B panel buffer, kept between calls and replaced when a call needs more. */
  private static final ThreadLocal<MemorySegment> PANEL = new ThreadLocal<>();

  /**
   * A B panel of at least {@code floats} floats, 64-byte aligned: every 512-bit load of B then
   * reads one cache line. A float[] gives no alignment control (its data starts 16 bytes into the
   * object, and a large array starts at a GC region boundary, so every load of a 32-float
   * micro-panel row would split two lines: measured 2048³ 98.5 → 117 GFLOP/s with the data offset
   * by 48 bytes, see docs/lab/2026-12-07-gemm-sequential-probe.md). Native memory from an automatic
   * arena: freed by the GC once no thread holds it.
   */
  private static MemorySegment panelFor(long floats) {
    MemorySegment p = PANEL.get();
    if (p == null || p.byteSize() < 4 * floats) {
      p = Arena.ofAuto().allocate(4 * floats, 64);
      PANEL.set(p);
    }
    return p;
  }

  /** A task's buffers, allocated once per thread and call ({@code ap}, {@code aTail} shared). */
  private static final class Scratch {
    float[] ap, aTail, stage, planes, bTail, bTailT;

    /** The B panel, 64-byte aligned ({@link #panelFor}). */
    MemorySegment panel;

    int mTiles;

    /** The first B row of the panel packed in {@code panel} (all of K), or -1 before the first. */
    int panelJ0;

    int[] index;
  }

  /**
   * Packs all of A once, K block by K block and lane by lane: A row i = 12·it + r, step q = q0 + u
   * of the K block at q0 (kq steps) goes to {@code ap[q0·8·M' + ((l·T + it)·kq + u)·12 + r]} (T
   * tiles, M' = 12T rows; rows past M stay zero), so one lane's micro-panels of consecutive tiles
   * are contiguous; the tail terms k ≥ 8Q go to {@code aTail[i·t + p]}. Tile by tile (12 rows
   * staged, then written in order of q and lane), split over the threads in runs of tiles.
   */
  private static void packA(GemmKernel.Rows a, int qn, float[] ap, float[] aTail, int threads) {
    int m = a.count, k = a.k, t = k - W * qn, mr = MR;
    int mTiles = WorkSplit.blocks(m, mr);
    int run = 8;
    WorkSplit.run(
        WorkSplit.blocks(mTiles, run),
        threads,
        () -> {
          float[] stage = new float[mr * k];
          return task -> {
            for (int it = task * run; it < Math.min(mTiles, task * run + run); it++) {
              int rows = Math.min(mr, m - it * mr);
              a.fill(it * mr, rows, stage);
              for (int q0 = 0; q0 < qn; q0 += KCQ) {
                int kq = Math.min(KCQ, qn - q0);
                int base = q0 * W * mTiles * mr + it * kq * mr;
                int lane = mTiles * kq * mr; // from one lane's micro-panels to the next
                for (int q = q0; q < q0 + kq; q++) {
                  int d = base + (q - q0) * mr;
                  for (int l = 0; l < W; l++, d += lane) {
                    for (int r = 0; r < rows; r++) {
                      ap[d + r] = stage[r * k + W * q + l];
                    }
                  }
                }
              }
              for (int r = 0; r < rows; r++) {
                System.arraycopy(stage, r * k + W * qn, aTail, (it * mr + r) * t, t);
              }
            }
          };
        });
  }

  private static void block(
      GemmKernel.Rows a,
      GemmKernel.Rows b,
      int i0,
      int mi,
      int j0,
      int jn,
      float[] c,
      int ldc,
      Scratch s) {
    int mr = MR, nr = NR;
    int k = a.k, qn = k / W, k8 = W * qn, t = k - k8;
    int iTiles = WorkSplit.blocks(mi, mr), jTiles = WorkSplit.blocks(jn, nr);
    int it0 = i0 / mr;
    // The B panel of rows [j0, j0 + jn) is packed for all of K at once and kept while this thread's
    // tasks stay on the same rows (consecutive tasks share j0): B is packed about once per thread
    // per call, not once per M chunk.
    boolean pack = s.panelJ0 != j0;
    s.panelJ0 = j0;
    for (int q0 = 0; q0 < qn; q0 += KCQ) {
      int kq = Math.min(KCQ, qn - q0);
      int pOff = q0 * W * jTiles * nr;
      if (pack) {
        packPanel(b, j0, jn, W * q0, kq, jTiles, s, pOff);
      }
      // Lane by lane, an A micro-panel (one lane, 12 × kq floats, 12 KB) stays in L1 while the
      // lane's B micro-panels of the block (32 × kq each, the lane's part of the K block: NB × kq
      // floats, 256 KB, in L2) stream past it.
      for (int l = 0; l < W; l++) {
        int aOff = q0 * W * s.mTiles * MR + (l * s.mTiles + it0) * kq * MR;
        for (int it = 0; it < iTiles; it++, aOff += kq * MR) {
          int bOff = pOff + l * jTiles * kq * NR;
          int accOff = (l * iTiles + it) * TILE;
          for (int jt = 0; jt < jTiles; jt++, bOff += kq * NR, accOff += W * iTiles * TILE) {
            kernel(s.ap, aOff, s.panel, bOff, kq, s.planes, accOff, q0 == 0);
          }
        }
      }
    }
    if (qn == 0) {
      Arrays.fill(s.planes, 0, iTiles * jTiles * W * TILE, 0f);
    }
    if (t > 0 && pack) {
      b.fill(j0, jn, k8, t, s.bTail);
      int nbp = jTiles * nr;
      Arrays.fill(s.bTailT, 0, nbp * t, 0f);
      for (int j = 0; j < jn; j++) {
        for (int p = 0; p < t; p++) {
          s.bTailT[p * nbp + j] = s.bTail[j * t + p];
        }
      }
    }
    finish(s, i0, mi, jn, iTiles, jTiles, t, c, i0 * ldc + j0, ldc);
  }

  /**
   * Packs B rows [j0, j0 + jn), terms [p0, p0 + 8·kq), lane by lane: {@code panel[pOff + ((l·jTiles
   * + jt)·kq + q)·32 + jr] = b[j0 + 32jt + jr, p0 + 8q + l]}, zero past row jn. Each micro-panel's
   * 32 rows are staged (decoded to FP32, row-major) and gathered column by column.
   */
  private static void packPanel(
      GemmKernel.Rows b, int j0, int jn, int p0, int kq, int jTiles, Scratch s, int pOff) {
    int kl = W * kq;
    float[] stage = s.stage;
    MemorySegment panel = s.panel;
    int[] index = s.index;
    for (int jr = 0; jr < NR; jr++) {
      index[jr] = jr * kl;
    }
    for (int jt = 0; jt < jTiles; jt++) {
      int rows = Math.min(NR, jn - jt * NR);
      b.fill(j0 + jt * NR, rows, p0, kl, stage);
      if (rows < NR) {
        Arrays.fill(stage, rows * kl, NR * kl, 0f);
      }
      for (int l = 0; l < W; l++) {
        int d = pOff + (l * jTiles + jt) * kq * NR;
        for (int q = 0; q < kq; q++, d += NR) {
          FloatVector.fromArray(V16, stage, W * q + l, index, 0)
              .intoMemorySegment(panel, 4L * d, ByteOrder.LITTLE_ENDIAN);
          FloatVector.fromArray(V16, stage, W * q + l, index, 16)
              .intoMemorySegment(panel, 4L * d + 64, ByteOrder.LITTLE_ENDIAN);
        }
      }
    }
  }

  /**
   * The end of every output of a task's block: the lanewise combine of its 8 planes in {@link
   * Lanes#reduce8}'s order, then the sequential fma tail over the last {@code t} terms, into c[cOff
   * + r·ldc + j].
   */
  private static void finish(
      Scratch s,
      int i0,
      int mi,
      int jn,
      int iTiles,
      int jTiles,
      int t,
      float[] c,
      int cOff,
      int ldc) {
    VectorSpecies<Float> v = V16;
    int vl = 16, mr = MR, nr = NR, tileFloats = TILE;
    int nbp = jTiles * nr;
    float[] pl = s.planes;
    for (int i = 0; i < mi; i++) {
      int it = i / mr, r = i % mr;
      for (int j = 0; j < jn; j += vl) {
        int jt = j / nr, jr = j % nr;
        int o = ((jt * W) * iTiles + it) * tileFloats + r * nr + jr;
        int ls = iTiles * tileFloats; // from one lane's plane to the next
        FloatVector s0 = FloatVector.fromArray(v, pl, o);
        FloatVector s1 = FloatVector.fromArray(v, pl, o + ls);
        FloatVector s2 = FloatVector.fromArray(v, pl, o + 2 * ls);
        FloatVector s3 = FloatVector.fromArray(v, pl, o + 3 * ls);
        FloatVector s4 = FloatVector.fromArray(v, pl, o + 4 * ls);
        FloatVector s5 = FloatVector.fromArray(v, pl, o + 5 * ls);
        FloatVector s6 = FloatVector.fromArray(v, pl, o + 6 * ls);
        FloatVector s7 = FloatVector.fromArray(v, pl, o + 7 * ls);
        FloatVector sum = s0.add(s4).add(s2.add(s6)).add(s1.add(s5).add(s3.add(s7)));
        for (int p = 0; p < t; p++) {
          FloatVector x = FloatVector.broadcast(v, s.aTail[(i0 + i) * t + p]);
          sum = x.fma(FloatVector.fromArray(v, s.bTailT, p * nbp + j), sum);
        }
        if (j + vl <= jn) {
          sum.intoArray(c, cOff + i * ldc + j);
        } else {
          VectorMask<Float> m = v.indexInRange(j, jn);
          sum.intoArray(c, cOff + i * ldc + j, m);
        }
      }
    }
  }

  /**
   * The micro-kernel: a 12 × 32 block of one lane's partial sums in 24 vectors (row r, outputs 16v
   * .. 16v + 16 in c_rv) over {@code kq} steps, {@code c_rv = fma(a[r, q], b[16v.., q], c_rv)} with
   * a[r, q] at {@code at[aOff + 12q + r]} (broadcast) and b at {@code bp[bOff + 32q + 16v]}. Sums
   * start from {@code acc[accOff + 32r + 16v]}, or from +0 when {@code first} (as the dot form's
   * lanes do), and are stored back there.
   */
  static void kernel(
      float[] at,
      int aOff,
      MemorySegment bp,
      int bOff,
      int kq,
      float[] acc,
      int accOff,
      boolean first) {
    float[] in = first ? ZEROS : acc;
    int io = first ? 0 : accOff;
    VectorSpecies<Float> v = V16;
    FloatVector c00 = FloatVector.fromArray(v, in, io), c01 = FloatVector.fromArray(v, in, io + 16);
    FloatVector c10 = FloatVector.fromArray(v, in, io + 32);
    FloatVector c11 = FloatVector.fromArray(v, in, io + 48);
    FloatVector c20 = FloatVector.fromArray(v, in, io + 64);
    FloatVector c21 = FloatVector.fromArray(v, in, io + 80);
    FloatVector c30 = FloatVector.fromArray(v, in, io + 96);
    FloatVector c31 = FloatVector.fromArray(v, in, io + 112);
    FloatVector c40 = FloatVector.fromArray(v, in, io + 128);
    FloatVector c41 = FloatVector.fromArray(v, in, io + 144);
    FloatVector c50 = FloatVector.fromArray(v, in, io + 160);
    FloatVector c51 = FloatVector.fromArray(v, in, io + 176);
    FloatVector c60 = FloatVector.fromArray(v, in, io + 192);
    FloatVector c61 = FloatVector.fromArray(v, in, io + 208);
    FloatVector c70 = FloatVector.fromArray(v, in, io + 224);
    FloatVector c71 = FloatVector.fromArray(v, in, io + 240);
    FloatVector c80 = FloatVector.fromArray(v, in, io + 256);
    FloatVector c81 = FloatVector.fromArray(v, in, io + 272);
    FloatVector c90 = FloatVector.fromArray(v, in, io + 288);
    FloatVector c91 = FloatVector.fromArray(v, in, io + 304);
    FloatVector ca0 = FloatVector.fromArray(v, in, io + 320);
    FloatVector ca1 = FloatVector.fromArray(v, in, io + 336);
    FloatVector cb0 = FloatVector.fromArray(v, in, io + 352);
    FloatVector cb1 = FloatVector.fromArray(v, in, io + 368);
    // One long induction variable over B's byte offsets: with an int step index and the offset
    // computed from it, C2 re-loaded the segment's address and bounds-checked every load of B in
    // the loop (2048³ 111 against 114-121 GFLOP/s with this form; docs/lab/
    // 2026-12-07-gemm-sequential-probe.md).
    long bEnd = 4L * (bOff + 32 * kq);
    for (long b = 4L * bOff, a = aOff; b < bEnd; b += 128, a += 12) {
      FloatVector y0 = FloatVector.fromMemorySegment(v, bp, b, ByteOrder.LITTLE_ENDIAN);
      FloatVector y1 = FloatVector.fromMemorySegment(v, bp, b + 64, ByteOrder.LITTLE_ENDIAN);
      FloatVector x = FloatVector.broadcast(v, at[(int) a]);
      c00 = x.fma(y0, c00);
      c01 = x.fma(y1, c01);
      x = FloatVector.broadcast(v, at[(int) a + 1]);
      c10 = x.fma(y0, c10);
      c11 = x.fma(y1, c11);
      x = FloatVector.broadcast(v, at[(int) a + 2]);
      c20 = x.fma(y0, c20);
      c21 = x.fma(y1, c21);
      x = FloatVector.broadcast(v, at[(int) a + 3]);
      c30 = x.fma(y0, c30);
      c31 = x.fma(y1, c31);
      x = FloatVector.broadcast(v, at[(int) a + 4]);
      c40 = x.fma(y0, c40);
      c41 = x.fma(y1, c41);
      x = FloatVector.broadcast(v, at[(int) a + 5]);
      c50 = x.fma(y0, c50);
      c51 = x.fma(y1, c51);
      x = FloatVector.broadcast(v, at[(int) a + 6]);
      c60 = x.fma(y0, c60);
      c61 = x.fma(y1, c61);
      x = FloatVector.broadcast(v, at[(int) a + 7]);
      c70 = x.fma(y0, c70);
      c71 = x.fma(y1, c71);
      x = FloatVector.broadcast(v, at[(int) a + 8]);
      c80 = x.fma(y0, c80);
      c81 = x.fma(y1, c81);
      x = FloatVector.broadcast(v, at[(int) a + 9]);
      c90 = x.fma(y0, c90);
      c91 = x.fma(y1, c91);
      x = FloatVector.broadcast(v, at[(int) a + 10]);
      ca0 = x.fma(y0, ca0);
      ca1 = x.fma(y1, ca1);
      x = FloatVector.broadcast(v, at[(int) a + 11]);
      cb0 = x.fma(y0, cb0);
      cb1 = x.fma(y1, cb1);
    }
    // Straight-line stores: putting the accumulators in an array would make C2 box them.
    c00.intoArray(acc, accOff);
    c01.intoArray(acc, accOff + 16);
    c10.intoArray(acc, accOff + 32);
    c11.intoArray(acc, accOff + 48);
    c20.intoArray(acc, accOff + 64);
    c21.intoArray(acc, accOff + 80);
    c30.intoArray(acc, accOff + 96);
    c31.intoArray(acc, accOff + 112);
    c40.intoArray(acc, accOff + 128);
    c41.intoArray(acc, accOff + 144);
    c50.intoArray(acc, accOff + 160);
    c51.intoArray(acc, accOff + 176);
    c60.intoArray(acc, accOff + 192);
    c61.intoArray(acc, accOff + 208);
    c70.intoArray(acc, accOff + 224);
    c71.intoArray(acc, accOff + 240);
    c80.intoArray(acc, accOff + 256);
    c81.intoArray(acc, accOff + 272);
    c90.intoArray(acc, accOff + 288);
    c91.intoArray(acc, accOff + 304);
    ca0.intoArray(acc, accOff + 320);
    ca1.intoArray(acc, accOff + 336);
    cb0.intoArray(acc, accOff + 352);
    cb1.intoArray(acc, accOff + 368);
  }
}
