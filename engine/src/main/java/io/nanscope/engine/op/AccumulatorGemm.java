package io.nanscope.engine.op;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Tensor;

/**
 * The three GEMM shapes ops need, returning the accumulators (not yet rounded to the output
 * format). With an FP32 accumulator and FP32/16-bit operands they run in {@link Kernels} (fast,
 * threaded, deterministic); with an FP64 or 16-bit accumulator they run here, sequentially over k
 * through {@link Reduce#dot}: the reference and teaching paths, which Kernels does not provide.
 */
final class AccumulatorGemm {

  private AccumulatorGemm() {}

  private static boolean kernels(FloatFormat acc, Tensor a, Tensor b) {
    return acc == FloatFormat.FP32
        && a.format() != FloatFormat.FP64
        && b.format() != FloatFormat.FP64;
  }

  private static int rows(Tensor t) {
    return Math.toIntExact(t.shape().rows());
  }

  private static int cols(Tensor t) {
    return Math.toIntExact(t.shape().cols());
  }

  private static double[] widen(float[] c) {
    double[] d = new double[c.length];
    for (int i = 0; i < c.length; i++) {
      d[i] = c[i];
    }
    return d;
  }

  /**
   * Whether {@link #nt} would compute on the FP32 kernels: then {@link #ntFloats} gives the same
   * values as floats (nt widens exactly those floats).
   */
  static boolean floatResult(FloatFormat acc, Tensor a, Tensor b) {
    return kernels(acc, a, b);
  }

  /** {@link #nt} on the FP32 kernels, without widening: only when {@link #floatResult}. */
  static float[] ntFloats(Tensor a, Tensor b, int threads) {
    int m = rows(a), k = cols(a), n = rows(b);
    Emit.check(
        cols(b) == k,
        "matmul: x is " + a.shape() + " but W is " + b.shape() + "; expected W (N, " + k + ")");
    float[] c = new float[Math.multiplyExact(m, n)];
    Kernels.matmulNT(a, b, c, threads);
    return c;
  }

  /** a·bᵀ. a: (M, K); b: (N, K); result: (M, N). */
  static double[] nt(FloatFormat acc, Tensor a, Tensor b, int threads) {
    int m = rows(a), k = cols(a), n = rows(b);
    Emit.check(
        cols(b) == k,
        "matmul: x is " + a.shape() + " but W is " + b.shape() + "; expected W (N, " + k + ")");
    if (kernels(acc, a, b)) {
      float[] c = new float[Math.multiplyExact(m, n)];
      Kernels.matmulNT(a, b, c, threads);
      return widen(c);
    }
    double[] ad = a.toDoubleArray(),
        bd = b.toDoubleArray(),
        c = new double[Math.multiplyExact(m, n)];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        c[i * n + j] = Reduce.dot(acc, ad, i * k, 1, bd, j * k, 1, k);
      }
    }
    return c;
  }

  /** a·b. a: (M, K); b: (K, N); result: (M, N). */
  static double[] nn(FloatFormat acc, Tensor a, Tensor b, int threads) {
    int m = rows(a), k = cols(a), n = cols(b);
    Emit.check(
        rows(b) == k,
        "matmul: a is " + a.shape() + " but b is " + b.shape() + "; expected b (" + k + ", N)");
    if (kernels(acc, a, b)) {
      float[] c = new float[Math.multiplyExact(m, n)];
      Kernels.matmulNN(a, b, c, threads);
      return widen(c);
    }
    double[] ad = a.toDoubleArray(),
        bd = b.toDoubleArray(),
        c = new double[Math.multiplyExact(m, n)];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        c[i * n + j] = Reduce.dot(acc, ad, i * k, 1, bd, j, n, k);
      }
    }
    return c;
  }

  /** aᵀ·b. a: (K, M); b: (K, N); result: (M, N). */
  static double[] tn(FloatFormat acc, Tensor a, Tensor b, int threads) {
    int k = rows(a), m = cols(a), n = cols(b);
    Emit.check(
        rows(b) == k,
        "matmul: a is " + a.shape() + " but b is " + b.shape() + "; expected b (" + k + ", N)");
    if (kernels(acc, a, b)) {
      float[] c = new float[Math.multiplyExact(m, n)];
      Kernels.matmulTN(a, b, c, threads);
      return widen(c);
    }
    double[] ad = a.toDoubleArray(),
        bd = b.toDoubleArray(),
        c = new double[Math.multiplyExact(m, n)];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        c[i * n + j] = Reduce.dot(acc, ad, i, m, bd, j, n, k);
      }
    }
    return c;
  }
}
