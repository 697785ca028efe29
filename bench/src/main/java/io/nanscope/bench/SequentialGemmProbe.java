package io.nanscope.bench;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Question (issue 16, a probe, not wired into the engine): how fast is a conventional
 * GotoBLAS/BLIS-style FP32 GEMM whose every output is summed sequentially over k, with the SAME
 * micro-kernel instructions as the engine's 512-bit {@code LaneSplitGemm} (12 × 32 tile, 12
 * broadcasts of A, 2 vector loads of B, 24 fmas per step), measured against the engine's {@code
 * Kernels.matmulNT} in the same JVM on one thread, in thread CPU time? If it reaches OpenBLAS, the
 * engine's 8-lane order (8 planes per output, combined at the end) costs the gap; if not, the cost
 * is in the blocking, the packing or the JVM.
 *
 * <p>Its results are NOT the engine's bits (a different order of the sum); they are checked only
 * against an FP64 dot on a sample of outputs. Loops (BLIS order, our row-major c = a·bᵀ): for an A
 * block of {@code probe.mc} rows, for each K block of {@code probe.kc} terms, pack the A block
 * ({@code [tile][k][12]}), then for each B block of {@code probe.nc} columns pack it ({@code
 * [tile][k][32]}, 48 KB per micro-panel at kc = 384) and run every 12 × 32 tile: the accumulators
 * are loaded from c (zero in the first K block) and stored back to c. {@code probe.order=a} keeps
 * one A micro-panel in L1 while the B micro-panels of the block stream past (BLIS's order), {@code
 * b} the opposite. The packed B block is 64-byte aligned native memory, read as the engine reads
 * its B panel (so that neither form splits its B loads over two cache lines). Prints {@code
 * CpuTimeBench}'s JSON lines with weights "main" and "seq", main and the probe interleaved call by
 * call.
 */
public final class SequentialGemmProbe {

  private static final VectorSpecies<Float> V = FloatVector.SPECIES_512;
  private static final int MR = 12, NR = 32;

  private static final int KC = Integer.getInteger("probe.kc", 384);
  private static final int NC = Integer.getInteger("probe.nc", 480) / NR * NR;
  private static final int MC = Integer.getInteger("probe.mc", 3072) / MR * MR;
  private static final boolean A_IN_L1 = !"b".equals(System.getProperty("probe.order", "a"));

  private SequentialGemmProbe() {}

  public static void main(String[] args) {
    int reps = 8;
    java.util.List<String> shapes = new java.util.ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--reps")) {
        reps = Integer.parseInt(args[++i]);
      } else {
        shapes.add(args[i]);
      }
    }
    System.out.printf(
        Locale.ROOT,
        "{\"kind\": \"info\", \"java\": \"%s\", \"width\": %d, \"probe\": \"kc %d nc %d mc %d order"
            + " %s\"}%n",
        Runtime.version(),
        Kernels.gemmWidthBits(),
        KC,
        NC,
        MC,
        A_IN_L1 ? "a" : "b");
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    for (String shape : shapes) {
      String[] d = shape.split("x");
      int m = Integer.parseInt(d[0]), n = Integer.parseInt(d[1]), k = Integer.parseInt(d[2]);
      float[] a = random(m * k, 1), b = random(n * k, 2);
      Tensor ta = Tensor.ofFloats(FloatFormat.FP32, Shape.of(m, k), a);
      Tensor tb = Tensor.ofFloats(FloatFormat.FP32, Shape.of(n, k), b);
      float[] cMain = new float[m * n], cSeq = new float[m * n];
      Scratch s = new Scratch(m, n, k);
      long until = System.nanoTime() + 3_000_000_000L;
      for (int i = 0; i < 3 || System.nanoTime() < until; i++) {
        Kernels.matmulNT(ta, tb, cMain, 1);
        gemm(a, b, cSeq, m, n, k, s);
      }
      check(a, b, cSeq, m, n, k);
      double[] tMain = new double[reps], tSeq = new double[reps];
      for (int r = 0; r < reps; r++) {
        long t0 = mx.getCurrentThreadCpuTime();
        Kernels.matmulNT(ta, tb, cMain, 1);
        long t1 = mx.getCurrentThreadCpuTime();
        gemm(a, b, cSeq, m, n, k, s);
        long t2 = mx.getCurrentThreadCpuTime();
        tMain[r] = (t1 - t0) * 1e-9;
        tSeq[r] = (t2 - t1) * 1e-9;
      }
      print(shape, "main", tMain);
      print(shape, "seq", tSeq);
    }
  }

  private static float[] random(int size, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] x = new float[size];
    for (int i = 0; i < size; i++) {
      x[i] = (float) rnd.nextDouble(-1, 1);
    }
    return x;
  }

  /** Fails unless 1000 sampled outputs are within 1e-4·Σ|a·b| + 1e-6 of the FP64 dot. */
  private static void check(float[] a, float[] b, float[] c, int m, int n, int k) {
    SplittableRandom rnd = new SplittableRandom(7);
    for (int s = 0; s < 1000; s++) {
      int i = rnd.nextInt(m), j = rnd.nextInt(n);
      double dot = 0, abs = 0;
      for (int p = 0; p < k; p++) {
        double x = (double) a[i * k + p] * b[j * k + p];
        dot += x;
        abs += Math.abs(x);
      }
      if (Math.abs(c[i * n + j] - dot) > 1e-4 * abs + 1e-6) {
        throw new IllegalStateException(
            "probe wrong at (" + i + ", " + j + "): " + c[i * n + j] + " vs " + dot);
      }
    }
  }

  private static void print(String shape, String what, double[] seconds) {
    StringBuilder sb = new StringBuilder();
    for (double v : seconds) {
      sb.append(sb.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.6f", v));
    }
    System.out.printf(
        Locale.ROOT,
        "{\"kind\": \"sgemm-cpu\", \"shape\": \"%s\", \"weights\": \"%s\", \"threads\": 1,"
            + " \"seconds\": [%s]}%n",
        shape,
        what,
        sb);
  }

  static final class Scratch {
    final float[] ap, tile = new float[MR * NR];

    /** The packed B block, 64-byte aligned as the engine's B panel. */
    final MemorySegment bp;

    final int[] index = new int[NR];

    Scratch(int m, int n, int k) {
      int kc = Math.min(KC, k);
      ap = new float[(Math.min(MC, m) + MR) * kc];
      bp = Arena.ofAuto().allocate(4L * (Math.min(NC, n) + NR) * kc, 64);
      for (int jr = 0; jr < NR; jr++) {
        index[jr] = jr * k;
      }
    }
  }

  /** c = a·bᵀ, a (M, K), b (N, K), c (M, N), all row-major; each output summed in order of k. */
  static void gemm(float[] a, float[] b, float[] c, int m, int n, int k, Scratch s) {
    for (int i0 = 0; i0 < m; i0 += MC) {
      int mi = Math.min(MC, m - i0), iTiles = (mi + MR - 1) / MR;
      for (int p0 = 0; p0 < k; p0 += KC) {
        int kl = Math.min(KC, k - p0);
        packA(a, i0, mi, p0, kl, k, s.ap);
        for (int j0 = 0; j0 < n; j0 += NC) {
          int jn = Math.min(NC, n - j0), jTiles = (jn + NR - 1) / NR;
          packB(b, j0, jn, p0, kl, k, s);
          if (A_IN_L1) {
            for (int it = 0; it < iTiles; it++) {
              for (int jt = 0; jt < jTiles; jt++) {
                tile(s, c, n, i0, mi, it, j0, jn, jt, kl, p0 == 0);
              }
            }
          } else {
            for (int jt = 0; jt < jTiles; jt++) {
              for (int it = 0; it < iTiles; it++) {
                tile(s, c, n, i0, mi, it, j0, jn, jt, kl, p0 == 0);
              }
            }
          }
        }
      }
    }
  }

  private static void tile(
      Scratch s,
      float[] c,
      int ldc,
      int i0,
      int mi,
      int it,
      int j0,
      int jn,
      int jt,
      int kl,
      boolean first) {
    int rows = Math.min(MR, mi - it * MR), cols = Math.min(NR, jn - jt * NR);
    int cOff = (i0 + it * MR) * ldc + j0 + jt * NR;
    int aOff = it * kl * MR, bOff = jt * kl * NR;
    if (rows == MR && cols == NR) {
      kernel(s.ap, aOff, s.bp, bOff, kl, c, cOff, ldc, first);
      return;
    }
    float[] t = s.tile;
    Arrays.fill(t, 0f);
    for (int r = 0; r < rows; r++) {
      System.arraycopy(c, cOff + r * ldc, t, r * NR, cols);
    }
    kernel(s.ap, aOff, s.bp, bOff, kl, t, 0, NR, first);
    for (int r = 0; r < rows; r++) {
      System.arraycopy(t, r * NR, c, cOff + r * ldc, cols);
    }
  }

  /** ap[(it·kl + q)·12 + r] = a[i0 + 12it + r, p0 + q], zero past row mi. */
  private static void packA(float[] a, int i0, int mi, int p0, int kl, int k, float[] ap) {
    int iTiles = (mi + MR - 1) / MR;
    for (int it = 0; it < iTiles; it++) {
      int rows = Math.min(MR, mi - it * MR), base = it * kl * MR;
      for (int r = 0; r < MR; r++) {
        if (r < rows) {
          int src = (i0 + it * MR + r) * k + p0;
          for (int q = 0; q < kl; q++) {
            ap[base + q * MR + r] = a[src + q];
          }
        } else {
          for (int q = 0; q < kl; q++) {
            ap[base + q * MR + r] = 0f;
          }
        }
      }
    }
  }

  /** bp[(jt·kl + q)·32 + jr] = b[j0 + 32jt + jr, p0 + q], zero past row jn (gathers). */
  private static void packB(float[] b, int j0, int jn, int p0, int kl, int k, Scratch s) {
    int jTiles = (jn + NR - 1) / NR;
    MemorySegment bp = s.bp;
    ByteOrder le = ByteOrder.LITTLE_ENDIAN;
    for (int jt = 0; jt < jTiles; jt++) {
      int rows = Math.min(NR, jn - jt * NR), d = jt * kl * NR;
      int src = (j0 + jt * NR) * k + p0;
      if (rows == NR) {
        for (int q = 0; q < kl; q++, d += NR) {
          FloatVector.fromArray(V, b, src + q, s.index, 0).intoMemorySegment(bp, 4L * d, le);
          FloatVector.fromArray(V, b, src + q, s.index, 16).intoMemorySegment(bp, 4L * d + 64, le);
        }
      } else {
        for (int q = 0; q < kl; q++, d += NR) {
          for (int jr = 0; jr < NR; jr++) {
            bp.setAtIndex(
                ValueLayout.JAVA_FLOAT_UNALIGNED, d + jr, jr < rows ? b[src + jr * k + q] : 0f);
          }
        }
      }
    }
  }

  /**
   * The engine's 512-bit micro-kernel with c in place: {@code c[r, 16v..] = fma(a[r, q], b[16v..,
   * q], c[r, 16v..])} for q = 0 .. kl − 1, from c (or +0 when {@code first}).
   */
  static void kernel(
      float[] at,
      int aOff,
      MemorySegment bp,
      int bOff,
      int kq,
      float[] c,
      int o,
      int ldc,
      boolean first) {
    VectorSpecies<Float> v = V;
    FloatVector z = FloatVector.zero(v);
    int o1 = o + ldc, o2 = o1 + ldc, o3 = o2 + ldc, o4 = o3 + ldc, o5 = o4 + ldc;
    int o6 = o5 + ldc, o7 = o6 + ldc, o8 = o7 + ldc, o9 = o8 + ldc, oa = o9 + ldc, ob = oa + ldc;
    FloatVector c00 = first ? z : FloatVector.fromArray(v, c, o);
    FloatVector c01 = first ? z : FloatVector.fromArray(v, c, o + 16);
    FloatVector c10 = first ? z : FloatVector.fromArray(v, c, o1);
    FloatVector c11 = first ? z : FloatVector.fromArray(v, c, o1 + 16);
    FloatVector c20 = first ? z : FloatVector.fromArray(v, c, o2);
    FloatVector c21 = first ? z : FloatVector.fromArray(v, c, o2 + 16);
    FloatVector c30 = first ? z : FloatVector.fromArray(v, c, o3);
    FloatVector c31 = first ? z : FloatVector.fromArray(v, c, o3 + 16);
    FloatVector c40 = first ? z : FloatVector.fromArray(v, c, o4);
    FloatVector c41 = first ? z : FloatVector.fromArray(v, c, o4 + 16);
    FloatVector c50 = first ? z : FloatVector.fromArray(v, c, o5);
    FloatVector c51 = first ? z : FloatVector.fromArray(v, c, o5 + 16);
    FloatVector c60 = first ? z : FloatVector.fromArray(v, c, o6);
    FloatVector c61 = first ? z : FloatVector.fromArray(v, c, o6 + 16);
    FloatVector c70 = first ? z : FloatVector.fromArray(v, c, o7);
    FloatVector c71 = first ? z : FloatVector.fromArray(v, c, o7 + 16);
    FloatVector c80 = first ? z : FloatVector.fromArray(v, c, o8);
    FloatVector c81 = first ? z : FloatVector.fromArray(v, c, o8 + 16);
    FloatVector c90 = first ? z : FloatVector.fromArray(v, c, o9);
    FloatVector c91 = first ? z : FloatVector.fromArray(v, c, o9 + 16);
    FloatVector ca0 = first ? z : FloatVector.fromArray(v, c, oa);
    FloatVector ca1 = first ? z : FloatVector.fromArray(v, c, oa + 16);
    FloatVector cb0 = first ? z : FloatVector.fromArray(v, c, ob);
    FloatVector cb1 = first ? z : FloatVector.fromArray(v, c, ob + 16);
    ByteOrder le = ByteOrder.LITTLE_ENDIAN;
    long bEnd = 4L * (bOff + 32 * kq);
    for (long b = 4L * bOff, a = aOff; b < bEnd; b += 128, a += 12) {
      FloatVector y0 = FloatVector.fromMemorySegment(v, bp, b, le);
      FloatVector y1 = FloatVector.fromMemorySegment(v, bp, b + 64, le);
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
    c00.intoArray(c, o);
    c01.intoArray(c, o + 16);
    c10.intoArray(c, o1);
    c11.intoArray(c, o1 + 16);
    c20.intoArray(c, o2);
    c21.intoArray(c, o2 + 16);
    c30.intoArray(c, o3);
    c31.intoArray(c, o3 + 16);
    c40.intoArray(c, o4);
    c41.intoArray(c, o4 + 16);
    c50.intoArray(c, o5);
    c51.intoArray(c, o5 + 16);
    c60.intoArray(c, o6);
    c61.intoArray(c, o6 + 16);
    c70.intoArray(c, o7);
    c71.intoArray(c, o7 + 16);
    c80.intoArray(c, o8);
    c81.intoArray(c, o8 + 16);
    c90.intoArray(c, o9);
    c91.intoArray(c, o9 + 16);
    ca0.intoArray(c, oa);
    ca1.intoArray(c, oa + 16);
    cb0.intoArray(c, ob);
    cb1.intoArray(c, ob + 16);
  }
}
