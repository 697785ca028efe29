package io.nanscope.engine.simd;

import io.nanscope.engine.tensor.StorageKind;
import io.nanscope.engine.tensor.Tensor;

/**
 * The engine's compute kernels: the only entry point ops use for GEMM and reductions. Inputs are
 * tensors in FP32 or 16-bit storage (decoded on the fly); results are FP32 accumulators in a
 * {@code float[]} that the caller rounds to its output format.
 *
 * <p>Determinism contract: every output element is one reduction over k, computed by one thread in
 * an order fixed by the kernel (never split across threads), so results are bit-identical for any
 * thread count. Shapes use the papers' letters: M rows, N columns, K the reduced axis.
 *
 * <p>This first version is the plain scalar reference (sequential k order, FP32 multiply then add);
 * vectorised, blocked and threaded versions replace the bodies with the same contract.
 */
public final class Kernels {

  private Kernels() {}

  /**
   * {@code c[m·N + n] = Σ_k a[m, k] · b[n, k]}: x·Wᵀ, the linear layer. a: (M, K); b: (N, K); c: (M, N).
   */
  public static void matmulNT(Tensor a, Tensor b, float[] c, int threads) {
    int m = rows(a), k = cols(a), n = rows(b);
    check(cols(b) == k, "matmulNT: a is (%d, %d) but b is (%d, %d); expected b (N, %d)", m, k, n, cols(b), k);
    check(c.length >= (long) m * n, "matmulNT: c holds %d, needs %d", c.length, (long) m * n);
    float[] arow = new float[k];
    float[] brow = new float[k];
    for (int i = 0; i < m; i++) {
      decodeRow(a, i, arow);
      for (int j = 0; j < n; j++) {
        decodeRow(b, j, brow);
        c[i * n + j] = dot(arow, 0, brow, 0, k);
      }
    }
  }

  /** {@code c = a · b}: dX = dY·W. a: (M, K); b: (K, N); c: (M, N). */
  public static void matmulNN(Tensor a, Tensor b, float[] c, int threads) {
    int m = rows(a), k = cols(a), n = cols(b);
    check(rows(b) == k, "matmulNN: a is (%d, %d) but b is (%d, %d); expected b (%d, N)", m, k, rows(b), n, k);
    check(c.length >= (long) m * n, "matmulNN: c holds %d, needs %d", c.length, (long) m * n);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        float acc = 0f;
        for (int p = 0; p < k; p++) {
          acc += a.get((long) i * k + p) * b.get((long) p * n + j);
        }
        c[i * n + j] = acc;
      }
    }
  }

  /** {@code c = aᵀ · b}: dW = dYᵀ·X. a: (K, M); b: (K, N); c: (M, N). */
  public static void matmulTN(Tensor a, Tensor b, float[] c, int threads) {
    int k = rows(a), m = cols(a), n = cols(b);
    check(rows(b) == k, "matmulTN: a is (%d, %d) but b is (%d, %d); expected b (%d, N)", k, m, rows(b), n, k);
    check(c.length >= (long) m * n, "matmulTN: c holds %d, needs %d", c.length, (long) m * n);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        float acc = 0f;
        for (int p = 0; p < k; p++) {
          acc += a.get((long) p * m + i) * b.get((long) p * n + j);
        }
        c[i * n + j] = acc;
      }
    }
  }

  /** {@code Σ a[aOff + i] · b[bOff + i]} over i in [0, n), in a fixed order. */
  public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
    float acc = 0f;
    for (int i = 0; i < n; i++) {
      acc += a[aOff + i] * b[bOff + i];
    }
    return acc;
  }

  /** {@code Σ a[off + i]} over i in [0, n), in a fixed order. */
  public static float sum(float[] a, int off, int n) {
    float acc = 0f;
    for (int i = 0; i < n; i++) {
      acc += a[off + i];
    }
    return acc;
  }

  /** Row {@code r} of a rank-2 view of {@code t}, decoded to FP32 into {@code dst}. */
  public static void decodeRow(Tensor t, int r, float[] dst) {
    long cols = t.shape().cols();
    long base = r * cols;
    if (t.storageKind() == StorageKind.F32) {
      java.lang.foreign.MemorySegment.copy(
          t.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, base * 4, dst, 0, (int) cols);
      return;
    }
    for (int i = 0; i < cols; i++) {
      dst[i] = t.get(base + i);
    }
  }

  private static int rows(Tensor t) {
    return Math.toIntExact(t.shape().rows());
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
