package io.nanscope.engine.op;

import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Tensor;

/**
 * The FP32 row kernels of the ops, for a decode step written on float arrays (llama's {@code
 * Fp32Decoder}): each is the kernel the op's FP32 path runs on one row, so a step built from them
 * gives the op path's bits when the policy is {@link PrecisionPolicy#isAllFp32() all FP32}. Callers
 * above the engine use these instead of the kernel packages, which stay internal.
 *
 * <ul>
 *   <li>{@link MatMul}: {@link #matvecs} (W streamed from its storage, split over threads by row
 *       blocks) and {@link #dotColumns} (Wᵀ packed in FP32 panels of 8 columns), both the ordered
 *       dot of {@link #dot};
 *   <li>{@link CausalAttention}: scores with {@link #dotColumns} over a transposed key cache, P·v
 *       with {@link #weightedRows}.
 * </ul>
 *
 * <p>The element-wise ops keep their row kernels on the op class, where their FP32 forward calls
 * them: {@link RmsNorm#rowFp32}, {@link Rope#rotateFp32} (with {@link Rope#anglesFp32}), {@link
 * SwiGlu#rowFp32} ({@link Silu#rowFp32}) and {@link Softmax#rowsFp32}.
 *
 * <p>The {@code ...Scalar} methods are the kernels' scalar twins (the same bits, plain Java): a
 * decode step runs them while C2 has not yet compiled the vector kernels.
 */
public final class Fp32Rows {

  private Fp32Rows() {}

  /**
   * {@code outs[m] = ws[m]·x} for every m: x (1, K), ws[m] (N_m, K) in any storage format, on up to
   * {@code threads} threads; each output is the ordered dot of {@link #dot}, whatever the split.
   */
  public static void matvecs(Tensor x, Tensor[] ws, float[][] outs, int threads) {
    MatvecSplit.matvecs(x, ws, outs, threads);
  }

  /** The ordered dot {@code Σ a[aOff+i]·b[bOff+i]} of every FP32 GEMM output. */
  public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
    return Kernels.dot(a, aOff, b, bOff, n);
  }

  /**
   * {@code y[yo+j] = Σ_p x[xo+p]·W[p, j]} over W stored in panels of 8 columns ({@code W[p, j] =
   * w[wo + (j/8)·panel + p·ld + j%8]}); each output equals {@link #dot} of x and column j.
   */
  public static void dotColumns(
      float[] x, int xo, float[] w, int wo, int ld, int panel, int k, float[] y, int yo, int n) {
    Kernels.dotColumns(x, xo, w, wo, ld, panel, k, y, yo, n);
  }

  /** Scalar twin of {@link #dotColumns}. */
  public static void dotColumnsScalar(
      float[] x, int xo, float[] w, int wo, int ld, int panel, int k, float[] y, int yo, int n) {
    Kernels.dotColumnsScalar(x, xo, w, wo, ld, panel, k, y, yo, n);
  }

  /** {@code y[yo+i] = Σ_t p[po+t]·v[vo + t·ld + i]}: attention's P·V, sequential in t. */
  public static void weightedRows(
      float[] p, int po, float[] v, int vo, int ld, int n, float[] y, int yo, int d) {
    Kernels.weightedRows(p, po, v, vo, ld, n, y, yo, d);
  }

  /** Scalar twin of {@link #weightedRows}. */
  public static void weightedRowsScalar(
      float[] p, int po, float[] v, int vo, int ld, int n, float[] y, int yo, int d) {
    Kernels.weightedRowsScalar(p, po, v, vo, ld, n, y, yo, d);
  }

  /** {@code y[yo+i] = (float) Math.exp(x[xo+i])}, bit for bit: the exp of the FP32 ops. */
  public static void exp(float[] x, int xo, float[] y, int yo, int n) {
    Kernels.mathExp(x, xo, y, yo, n);
  }

  /** Scalar twin of {@link #exp}. */
  public static void expScalar(float[] x, int xo, float[] y, int yo, int n) {
    Kernels.mathExpScalar(x, xo, y, yo, n);
  }

  /** Row {@code r} of a rank-2 view of {@code t}, decoded to FP32 into {@code dst}. */
  public static void decodeRow(Tensor t, int r, float[] dst) {
    Kernels.decodeRow(t, r, dst);
  }
}
