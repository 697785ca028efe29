package io.nanscope.engine.simd;

import io.nanscope.engine.lanes.Lanes;
import io.nanscope.engine.tensor.Tensor;

/**
 * The engine's compute kernels: the only entry point ops use for GEMM and reductions. Inputs are
 * tensors in FP32 or 16-bit storage (FP16/BF16 decoded on the fly; FP64 tensors are narrowed);
 * results are FP32 accumulators in a {@code float[]} that the caller rounds to its output format.
 *
 * <p>Determinism contract: every output element is one reduction over k, computed by one thread in
 * an order fixed by the kernel (never split across threads), so results are bit-identical for any
 * thread count. Shapes use the papers' letters: M rows, N columns, K the reduced axis.
 *
 * <p>The order is the {@linkplain Lanes ordered reduction} on 8 lanes per output: products are
 * fused ({@code Math.fma}), lane l of 8 sums the terms k ≡ l (mod 8) below K − K mod 8, the lanes
 * are combined {@code ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7))}, then the last K mod 8 terms are added
 * in order. It does not depend on the thread count, on the machine's vector width, on M (a decode
 * step with M = 1 gives the same bits as that row of a batch) or on which of NT/NN/TN computed it.
 * Error bound: |c − exact| ≤ γ(⌊K/8⌋ + 10)·Σ|a||b| with γ(n) = n·u/(1 − n·u), u = 2^−24 (each term
 * meets at most ⌊K/8⌋ lane fmas, 3 combining adds and 7 tail fmas).
 */
public final class Kernels {

  private Kernels() {}

  /**
   * {@code c[m·N + n] = Σ_k a[m, k] · b[n, k]}: x·Wᵀ, the linear layer. a: (M, K); b: (N, K); c:
   * (M, N). M = 1 (decode) streams b from its storage (bandwidth-bound); M ≥ 2 runs the packed,
   * blocked GEMM.
   */
  public static void matmulNT(Tensor a, Tensor b, float[] c, int threads) {
    int m = rows(a), k = cols(a), n = rows(b);
    check(
        cols(b) == k,
        "matmulNT: a is (%d, %d) but b is (%d, %d); expected b (N, %d)",
        m,
        k,
        n,
        cols(b),
        k);
    check(c.length >= (long) m * n, "matmulNT: c holds %d, needs %d", c.length, (long) m * n);
    GemmKernel.nt(GemmKernel.rowsOf(a), GemmKernel.rowsOf(b), c, threads);
  }

  /** {@code c = a · b}: dX = dY·W. a: (M, K); b: (K, N); c: (M, N). */
  public static void matmulNN(Tensor a, Tensor b, float[] c, int threads) {
    int m = rows(a), k = cols(a), n = cols(b);
    check(
        rows(b) == k,
        "matmulNN: a is (%d, %d) but b is (%d, %d); expected b (%d, N)",
        m,
        k,
        rows(b),
        n,
        k);
    check(c.length >= (long) m * n, "matmulNN: c holds %d, needs %d", c.length, (long) m * n);
    GemmKernel.nt(GemmKernel.rowsOf(a), GemmKernel.columnsOf(b), c, threads);
  }

  /** {@code c = aᵀ · b}: dW = dYᵀ·X. a: (K, M); b: (K, N); c: (M, N). */
  public static void matmulTN(Tensor a, Tensor b, float[] c, int threads) {
    int k = rows(a), m = cols(a), n = cols(b);
    check(
        rows(b) == k,
        "matmulTN: a is (%d, %d) but b is (%d, %d); expected b (%d, N)",
        k,
        m,
        rows(b),
        n,
        k);
    check(c.length >= (long) m * n, "matmulTN: c holds %d, needs %d", c.length, (long) m * n);
    GemmKernel.nt(GemmKernel.columnsOf(a), GemmKernel.columnsOf(b), c, threads);
  }

  /**
   * The vector width of the blocked GEMM in this JVM: 512 bits where the preferred species is that
   * wide, else 256 ({@code -Dnanscope.simd.width=256|512} forces one); the same bits either way.
   */
  public static int gemmWidthBits() {
    return Width.bits();
  }

  /**
   * {@code Σ a[aOff + i] · b[bOff + i]} over i in [0, n), in the fixed order of {@link Lanes#dot}.
   */
  public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
    return Lanes.dot(a, aOff, b, bOff, n);
  }

  /** {@code Σ a[off + i]} over i in [0, n), in the fixed order of {@link Lanes#sum}. */
  public static float sum(float[] a, int off, int n) {
    return Lanes.sum(a, off, n);
  }

  /**
   * {@code max a[off + i]} over i in [0, n) with {@link Math#max} semantics (NaN wins); −∞ if n =
   * 0.
   */
  public static float max(float[] a, int off, int n) {
    return Lanes.max(a, off, n);
  }

  /** {@code y[yOff + i] = fma(alpha, x[xOff + i], y[yOff + i])} for i in [0, n). */
  public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
    Lanes.axpy(alpha, x, xOff, y, yOff, n);
  }

  /**
   * {@code y[yOff + i] = e^x[xOff + i]}: &lt; 1 ulp from Math.exp, bit-identical on every machine.
   */
  public static void exp(float[] x, int xOff, float[] y, int yOff, int n) {
    Lanes.exp(x, xOff, y, yOff, n);
  }

  /**
   * {@code y[yo+j] = Σ_p x[xo+p]·W[p, j]}, j in [0, n), p in [0, k), W read in panels of 8 columns,
   * {@code W[p, j] = w[wo + (j/8)·panel + p·ld + j%8]} (row-major (k, N): ld = N, panel = 8; packed
   * panels: ld = 8, panel = 8k): the ordered dot of x with each column, {@link #dot}'s bits, 8
   * outputs per vector and no per-output lane reduction. A matvec for short rows ({@link
   * Lanes#dotColumns}).
   */
  public static void dotColumns(
      float[] x, int xo, float[] w, int wo, int ld, int panel, int k, float[] y, int yo, int n) {
    Lanes.dotColumns(x, xo, w, wo, ld, panel, k, y, yo, n);
  }

  /**
   * {@code y[yo+i] = Σ_t p[po+t]·v[vo + t·ld + i]}, i in [0, d): sums sequential in t from +0, each
   * product rounded then added (no fma), as the attention op's P·V.
   */
  public static void weightedRows(
      float[] p, int po, float[] v, int vo, int ld, int n, float[] y, int yo, int d) {
    Lanes.weightedRows(p, po, v, vo, ld, n, y, yo, d);
  }

  /**
   * {@code y[yo+i] = (float) Math.exp(x[xo+i])} bit for bit (the exp of the FP32 ops), computed 4
   * lanes at a time in double with a Math.exp fallback where rounding could differ ({@link
   * Lanes#mathExp}); unlike {@link #exp}, whose bits are its own.
   */
  public static void mathExp(float[] x, int xo, float[] y, int yo, int n) {
    Lanes.mathExp(x, xo, y, yo, n);
  }

  /**
   * Scalar twin of {@link #dotColumns}: the same bits (tested against it), plain Java. Fast from a
   * process's first calls, while the vector kernel still runs in the interpreter (the decode step's
   * warm-up, docs/guide/startup.md).
   */
  public static void dotColumnsScalar(
      float[] x, int xo, float[] w, int wo, int ld, int panel, int k, float[] y, int yo, int n) {
    Lanes.dotColumnsScalar(x, xo, w, wo, ld, panel, k, y, yo, n);
  }

  /** Scalar twin of {@link #weightedRows}: the same bits, plain Java. */
  public static void weightedRowsScalar(
      float[] p, int po, float[] v, int vo, int ld, int n, float[] y, int yo, int d) {
    Lanes.weightedRowsScalar(p, po, v, vo, ld, n, y, yo, d);
  }

  /**
   * Scalar twin (and definition) of {@link #mathExp}: {@code (float) Math.exp} element by element.
   */
  public static void mathExpScalar(float[] x, int xo, float[] y, int yo, int n) {
    Lanes.mathExpScalar(x, xo, y, yo, n);
  }

  /** Row {@code r} of a rank-2 view of {@code t}, decoded to FP32 into {@code dst}. */
  public static void decodeRow(Tensor t, int r, float[] dst) {
    int cols = cols(t);
    GemmKernel.read(t, (long) r * cols, dst, 0, cols);
  }

  private static int rows(Tensor t) {
    return GemmKernel.intRows(t);
  }

  private static int cols(Tensor t) {
    return Math.toIntExact(t.shape().cols());
  }

  private static void check(boolean ok, String fmt, Object... args) {
    if (!ok) {
      throw new IllegalArgumentException(String.format(fmt, args));
    }
  }
}
