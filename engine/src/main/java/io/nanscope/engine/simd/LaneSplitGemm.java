package io.nanscope.engine.simd;

import io.nanscope.engine.lanes.Lanes;
import io.nanscope.engine.parallel.WorkSplit;
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
 * same whatever the vector holds.
 *
 * <p>Blocking: K is not blocked. One micro-kernel call runs one lane of a 12 × 32 tile over all Q
 * steps from +0, so its 24 accumulators are stored once and never loaded again; after the 8 lanes
 * of a 12-row panel, the panel's 8 partial-sum planes (8 × 12 × NB floats, at most 96 KB) are
 * combined lanewise in {@link Lanes#reduce8}'s order (per output, the same adds in the same order)
 * and the tail is added. A is packed once per call, tile by tile and lane by lane, all Q steps of
 * one lane contiguous ({@link #packA}): a micro-panel of 12 × Q floats (at most 24 KB for K ≤ 4096)
 * stays in L1 while the B micro-panels of that lane stream past it from L2. A task owns at most
 * {@link #MC} rows × {@code nb} columns, nb chosen from K so that its B panel (nb rows, all of K,
 * packed lane by lane by {@link #packPanel}) stays near 1 MB; the panel is kept for the thread's
 * next task when that task has the same rows.
 */
final class LaneSplitGemm {

  private static final int W = Lanes.W;

  /** Steps per lane staged at a time by the packs (8·KCQ terms of k). */
  static final int KCQ = 64;

  /**
   * Steps per lane in one micro-kernel call at most (2048 terms of k): its A micro-panel (12 KB)
   * and a B micro-panel streaming past it (32 KB) fit this Xeon's 48 KB L1 together.
   */
  static final int KRUN = 256;

  /** Most B rows (outputs j) per task; fewer for long K ({@link #columnsPerTask}). */
  static final int NB = 256;

  /** Most A rows per task (a multiple of {@link #MR}); A is streamed, this only bounds a task. */
  static final int MC = 240;

  /** Rows (i) and outputs (j) of the micro-tile: 24 accumulators of 16 lanes. */
  static final int MR = 12, NR = 32;

  private static final int TILE = MR * NR;

  private static final float[] ZEROS = new float[TILE];

  /** Floats of a task's B panel (nb × K) aimed at: 1 MB, half of this Xeon's L2 per core. */
  private static final int PANEL_FLOATS = 1 << 18;

  static final VectorSpecies<Float> V16 = FloatVector.SPECIES_512;

  /** The 12 lanes of a 16-lane vector that hold one step of an A micro-panel. */
  private static final VectorMask<Float> ROWS12 = VectorMask.fromLong(V16, (1L << MR) - 1);

  private LaneSplitGemm() {}

  /** B rows per task for a K: the panel near {@link #PANEL_FLOATS}, 32 to {@link #NB} rows. */
  static int columnsPerTask(int k) {
    return Math.max(NR, Math.min(NB, PANEL_FLOATS / Math.max(1, k) / NR * NR));
  }

  /**
   * Floats between staged rows of a K chunk (8·KCQ terms) in the packs: 16 more than the chunk, so
   * that the rows do not all fall into the same L1 sets.
   */
  private static int stageStride(int kcq) {
    return W * kcq + 16;
  }

  /** c = a·bᵀ (M, N) with K ≥ 1 and M, N ≥ 1. */
  static void nt(GemmKernel.Rows a, GemmKernel.Rows b, float[] c, int threads) {
    int m = a.count, n = b.count;
    int k = a.k;
    int nb = columnsPerTask(k);
    int nBlocks = WorkSplit.blocks(n, nb);
    int mTiles = WorkSplit.blocks(m, MR);
    // At most MC rows per task; more M chunks when N alone has too few blocks for every thread.
    int mChunks =
        Math.max(WorkSplit.blocks(m, MC), Math.min(mTiles, WorkSplit.blocks(2 * threads, nBlocks)));
    int mc = WorkSplit.blocks(mTiles, mChunks) * MR;
    int chunks = WorkSplit.blocks(m, mc);
    int qn = k / W, t = k - W * qn;
    float[] ap = new float[Math.max(1, Math.multiplyExact(mTiles * MR, W * qn))];
    float[] aTail = new float[m * t];
    packA(a, qn, ap, aTail, threads);
    WorkSplit.run(
        nBlocks * chunks,
        threads,
        () -> {
          int kcq = Math.max(1, Math.min(KCQ, qn));
          int nbp = WorkSplit.blocks(Math.min(nb, n), NR) * NR;
          Scratch s = new Scratch();
          s.ap = ap;
          s.aTail = aTail;
          s.sb = stageStride(kcq);
          s.stage = new float[NR * s.sb];
          s.panel = new float[Math.max(1, Math.multiplyExact(nbp * W, qn))];
          s.panelJ0 = -1;
          s.planes = new float[W * MR * nbp];
          s.bTail = new float[Math.max(1, nbp * t)];
          s.bTailT = new float[Math.max(1, nbp * t)];
          s.index = new int[NR];
          for (int jr = 0; jr < NR; jr++) {
            s.index[jr] = jr * s.sb;
          }
          return task -> {
            int j0 = (task / chunks) * nb;
            int i0 = (task % chunks) * mc;
            block(a, b, i0, Math.min(mc, m - i0), j0, Math.min(nb, n - j0), c, n, s);
          };
        });
  }

  /** A task's buffers, allocated once per thread and call ({@code ap}, {@code aTail} shared). */
  private static final class Scratch {
    float[] ap, aTail, stage, panel, planes, bTail, bTailT;

    /** Floats between the staged rows of B in {@code stage}. */
    int sb;

    /** The first B row of the panel packed in {@code panel} (all of K), or -1 before the first. */
    int panelJ0;

    int[] index;
  }

  /**
   * Packs all of A once, tile by tile and lane by lane: A row i = 12·it + r, step q goes to {@code
   * ap[((it·8 + l)·Q + q)·12 + r]} (rows past M stay zero), so one lane's micro-panel of a tile (12
   * × Q floats) is contiguous; the tail terms k ≥ 8Q go to {@code aTail[i·t + p]}. 12 rows × 8·KCQ
   * terms are staged at a time, then gathered (12 rows per step and lane); split over the threads
   * in runs of tiles.
   */
  private static void packA(GemmKernel.Rows a, int qn, float[] ap, float[] aTail, int threads) {
    int m = a.count, k = a.k, t = k - W * qn, mr = MR;
    int mTiles = WorkSplit.blocks(m, mr);
    int run = 8;
    int sa = stageStride(Math.max(1, Math.min(KCQ, qn)));
    WorkSplit.run(
        WorkSplit.blocks(mTiles, run),
        threads,
        () -> {
          float[] stage = new float[Math.max(mr * sa, mr * t)];
          int[] index = new int[16];
          for (int r = 0; r < mr; r++) {
            index[r] = r * sa;
          }
          return task -> {
            for (int it = task * run; it < Math.min(mTiles, task * run + run); it++) {
              int rows = Math.min(mr, m - it * mr);
              if (rows < mr) {
                Arrays.fill(stage, 0f); // rows past M pack as zeros
              }
              for (int q0 = 0; q0 < qn; q0 += KCQ) {
                int kq = Math.min(KCQ, qn - q0);
                a.fill(it * mr, rows, W * q0, W * kq, stage, sa);
                for (int l = 0; l < W; l++) {
                  int d = ((it * W + l) * qn + q0) * mr;
                  for (int q = 0; q < kq; q++, d += mr) {
                    FloatVector.fromArray(V16, stage, W * q + l, index, 0).intoArray(ap, d, ROWS12);
                  }
                }
              }
              if (t > 0) {
                a.fill(it * mr, rows, W * qn, t, stage, t);
                System.arraycopy(stage, 0, aTail, it * mr * t, rows * t);
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
    int nbp = jTiles * nr;
    // The B panel of rows [j0, j0 + jn) is packed for all of K and kept while this thread's tasks
    // stay on the same rows (consecutive tasks share j0).
    if (s.panelJ0 != j0) {
      s.panelJ0 = j0;
      packPanel(b, j0, jn, qn, jTiles, s);
      if (t > 0) {
        b.fill(j0, jn, k8, t, s.bTail);
        Arrays.fill(s.bTailT, 0, nbp * t, 0f);
        for (int j = 0; j < jn; j++) {
          for (int p = 0; p < t; p++) {
            s.bTailT[p * nbp + j] = s.bTail[j * t + p];
          }
        }
      }
    }
    int cOff = i0 * ldc + j0;
    if (qn == 0) {
      Arrays.fill(s.planes, 0, W * jTiles * TILE, 0f);
    }
    for (int it = 0; it < iTiles; it++) {
      // BLIS order: one lane's A micro-panel (12 × kq floats, at most 12 KB) stays in L1 while the
      // B micro-panels of that lane (32 × kq, contiguous) stream past it from L2. Runs of KRUN
      // steps; a later run carries the row tile's planes on (loaded back while still in cache).
      for (int q0 = 0; q0 < qn; q0 += KRUN) {
        int kq = Math.min(KRUN, qn - q0);
        for (int l = 0; l < W; l++) {
          int aOff = (((it0 + it) * W + l) * qn + q0) * mr;
          for (int jt = 0; jt < jTiles; jt++) {
            int p = l * jTiles + jt;
            kernel(s.ap, aOff, s.panel, (p * qn + q0) * nr, kq, s.planes, p * TILE, q0 == 0);
          }
        }
      }
      finish(s, i0, it, Math.min(mr, mi - it * mr), jn, jTiles, nbp, t, c, cOff, ldc);
    }
  }

  /**
   * Packs B rows [j0, j0 + jn), all Q steps, lane by lane: {@code panel[((l·jTiles + jt)·Q + q)·32
   * + jr] = b[j0 + 32jt + jr, 8q + l]}, zero past row jn. Each micro-panel's 32 rows are staged
   * 8·KCQ terms at a time (decoded to FP32, {@code s.sb} floats apart) and gathered column by
   * column.
   */
  private static void packPanel(GemmKernel.Rows b, int j0, int jn, int qn, int jTiles, Scratch s) {
    int sb = s.sb;
    float[] stage = s.stage, panel = s.panel;
    int[] index = s.index;
    for (int jt = 0; jt < jTiles; jt++) {
      int rows = Math.min(NR, jn - jt * NR);
      if (rows < NR) {
        Arrays.fill(stage, 0f); // rows past jn pack as zeros
      }
      for (int q0 = 0; q0 < qn; q0 += KCQ) {
        int kq = Math.min(KCQ, qn - q0);
        b.fill(j0 + jt * NR, rows, W * q0, W * kq, stage, sb);
        for (int l = 0; l < W; l++) {
          int d = ((l * jTiles + jt) * qn + q0) * NR;
          for (int q = 0; q < kq; q++, d += NR) {
            FloatVector.fromArray(V16, stage, W * q + l, index, 0).intoArray(panel, d);
            FloatVector.fromArray(V16, stage, W * q + l, index, 16).intoArray(panel, d + 16);
          }
        }
      }
    }
  }

  /**
   * The end of every output of row tile {@code it} of a task's block ({@code rows} rows): the
   * lanewise combine of its 8 planes in {@link Lanes#reduce8}'s order, then the sequential fma tail
   * over the last {@code t} terms, into c[cOff + i·ldc + j].
   */
  private static void finish(
      Scratch s,
      int i0,
      int it,
      int rows,
      int jn,
      int jTiles,
      int nbp,
      int t,
      float[] c,
      int cOff,
      int ldc) {
    VectorSpecies<Float> v = V16;
    int vl = 16, nr = NR;
    int ls = jTiles * TILE; // from one lane's plane to the next
    float[] pl = s.planes;
    for (int r = 0; r < rows; r++) {
      int i = it * MR + r;
      for (int j = 0; j < jn; j += vl) {
        int o = (j / nr) * TILE + r * nr + j % nr;
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
      float[] at, int aOff, float[] bp, int bOff, int kq, float[] acc, int accOff, boolean first) {
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
    for (int q = 0; q < kq; q++) {
      int b = bOff + 32 * q, a = aOff + 12 * q;
      FloatVector y0 = FloatVector.fromArray(v, bp, b);
      FloatVector y1 = FloatVector.fromArray(v, bp, b + 16);
      FloatVector x = FloatVector.broadcast(v, at[a]);
      c00 = x.fma(y0, c00);
      c01 = x.fma(y1, c01);
      x = FloatVector.broadcast(v, at[a + 1]);
      c10 = x.fma(y0, c10);
      c11 = x.fma(y1, c11);
      x = FloatVector.broadcast(v, at[a + 2]);
      c20 = x.fma(y0, c20);
      c21 = x.fma(y1, c21);
      x = FloatVector.broadcast(v, at[a + 3]);
      c30 = x.fma(y0, c30);
      c31 = x.fma(y1, c31);
      x = FloatVector.broadcast(v, at[a + 4]);
      c40 = x.fma(y0, c40);
      c41 = x.fma(y1, c41);
      x = FloatVector.broadcast(v, at[a + 5]);
      c50 = x.fma(y0, c50);
      c51 = x.fma(y1, c51);
      x = FloatVector.broadcast(v, at[a + 6]);
      c60 = x.fma(y0, c60);
      c61 = x.fma(y1, c61);
      x = FloatVector.broadcast(v, at[a + 7]);
      c70 = x.fma(y0, c70);
      c71 = x.fma(y1, c71);
      x = FloatVector.broadcast(v, at[a + 8]);
      c80 = x.fma(y0, c80);
      c81 = x.fma(y1, c81);
      x = FloatVector.broadcast(v, at[a + 9]);
      c90 = x.fma(y0, c90);
      c91 = x.fma(y1, c91);
      x = FloatVector.broadcast(v, at[a + 10]);
      ca0 = x.fma(y0, ca0);
      ca1 = x.fma(y1, ca1);
      x = FloatVector.broadcast(v, at[a + 11]);
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
