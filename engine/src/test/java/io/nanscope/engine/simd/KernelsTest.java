package io.nanscope.engine.simd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The GEMM entry points against an FP64 reference written here (not sharing code with the kernels),
 * against the ordered-dot scalar twin (bit for bit), across threads, paths (M = 1 vs batch) and the
 * three layouts (NT, NN, TN), for FP32, FP16 and BF16 operands and sizes that hit every tail.
 */
class KernelsTest {

  private static final FloatFormat[] FORMATS = {
    FloatFormat.FP32, FloatFormat.FP16, FloatFormat.BF16
  };

  static Tensor random(FloatFormat f, long rows, long cols, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] v = new float[Math.toIntExact(rows * cols)];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) rnd.nextDouble(-1, 1);
    }
    return Tensor.of(f, Shape.of(rows, cols), v);
  }

  /** Transpose, same format (exact: values are copied, already in the format). */
  static Tensor transpose(Tensor t) {
    long r = t.shape().rows(), c = t.shape().cols();
    Tensor out = Tensor.zeros(t.format(), Shape.of(c, r));
    for (long i = 0; i < r; i++) {
      for (long j = 0; j < c; j++) {
        out.set(j * r + i, t.get(i * c + j));
      }
    }
    return out;
  }

  static Stream<Arguments> shapes() {
    int[][] mnk = {
      {1, 1, 1},
      {1, 7, 31},
      {1, 33, 4095},
      {2, 5, 7},
      {7, 31, 33},
      {31, 33, 7},
      {33, 7, 64},
      {4, 4, 8},
      {5, 9, 4095},
      {3, 130, 100},
      {1, 600, 33},
      {9, 600, 15}
    };
    Stream.Builder<Arguments> b = Stream.builder();
    for (int[] s : mnk) {
      for (FloatFormat fa : FORMATS) {
        for (FloatFormat fb : FORMATS) {
          if (fa == FloatFormat.FP32 || fb == FloatFormat.FP32 || fa == fb) {
            b.add(Arguments.of(s[0], s[1], s[2], fa, fb));
          }
        }
      }
    }
    return b.build();
  }

  @ParameterizedTest(name = "M={0} N={1} K={2} a={3} b={4}")
  @MethodSource("shapes")
  void allLayoutsAgreeBitForBitAndWithFp64(int m, int n, int k, FloatFormat fa, FloatFormat fb) {
    Tensor a = random(fa, m, k, 31L * m + k);
    Tensor b = random(fb, n, k, 17L * n + k + 1);
    float[] nt1 = new float[m * n];
    float[] nt2 = new float[m * n];
    Kernels.matmulNT(a, b, nt1, 1);
    Kernels.matmulNT(a, b, nt2, 2);
    assertThat(nt2).as("1 vs 2 threads").isEqualTo(nt1);

    float[] twin = new float[m * n];
    GemmKernel.ntScalar(GemmKernel.rowsOf(a), GemmKernel.rowsOf(b), twin);
    assertThat(nt1).as("scalar twin").isEqualTo(twin);

    float[] nn = new float[m * n];
    Kernels.matmulNN(a, transpose(b), nn, 2);
    assertThat(nn).as("NN").isEqualTo(nt1);
    float[] tn = new float[m * n];
    Kernels.matmulTN(transpose(a), transpose(b), tn, 2);
    assertThat(tn).as("TN").isEqualTo(nt1);

    // Each row alone (the M = 1 decode path streams b from storage) equals that row of the batch.
    float[] row = new float[n];
    for (int i = 0; i < m; i += Math.max(1, m / 3)) {
      Kernels.matmulNT(a.slice(i, i + 1), b, row, 2);
      assertThat(row)
          .as("row %d alone", i)
          .isEqualTo(java.util.Arrays.copyOfRange(nt1, i * n, i * n + n));
    }

    // FP64 reference: products of the decoded values are exact in double.
    // Budget: each term sees ≤ K/8 lane fmas + 3 combining adds + 7 tail fmas, so
    // |c − exact| ≤ γ(K/8 + 10)·Σ|a||b| (u = 2^-24); the FP64 sum itself errs by ~K·2^-53.
    double gamma = (k / 8 + 10) * 0x1p-24 / (1 - (k / 8 + 10) * 0x1p-24);
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double exact = 0, abs = 0;
        for (int p = 0; p < k; p++) {
          double prod = a.getDouble((long) i * k + p) * b.getDouble((long) j * k + p);
          exact += prod;
          abs += Math.abs(prod);
        }
        assertThat(Math.abs(nt1[i * n + j] - exact))
            .as("c[%d, %d]", i, j)
            .isLessThanOrEqualTo(gamma * abs);
      }
    }
  }

  @Test
  void largeBlockedShapeIsThreadIndependentAndMatchesTwin() {
    // Two B panels (N > GemmKernel.NB), two K blocks (the second ragged) and several M tiles.
    int m = 37, n = 300, k = 1000;
    for (FloatFormat fb : FORMATS) {
      Tensor a = random(FloatFormat.FP32, m, k, 1);
      Tensor b = random(fb, n, k, 2);
      float[] c1 = new float[m * n];
      float[] c2 = new float[m * n];
      float[] c3 = new float[m * n];
      Kernels.matmulNT(a, b, c1, 1);
      Kernels.matmulNT(a, b, c2, 2);
      Kernels.matmulNT(a, b, c3, 7);
      assertThat(c2).isEqualTo(c1);
      assertThat(c3).isEqualTo(c1);
      float[] twin = new float[m * n];
      GemmKernel.ntScalar(GemmKernel.rowsOf(a), GemmKernel.rowsOf(b), twin);
      assertThat(c1).isEqualTo(twin);
    }
  }

  @Test
  void kBlockedGemmKeepsTheUnblockedOrderBitForBit() {
    // Several K blocks, the last one ragged, plus a tail of 5; M and N each over one task's block,
    // so tasks split both ways; the twin is one unblocked ordered dot per output.
    int m = GemmKernel.MC + 13, n = GemmKernel.NB + 9, k = 2 * GemmKernel.KC + 200 + 5;
    Tensor a = random(FloatFormat.FP32, m, k, 5);
    float[] twin = new float[m * n];
    for (FloatFormat fb : new FloatFormat[] {FloatFormat.FP32, FloatFormat.BF16}) {
      Tensor b = random(fb, n, k, 6);
      GemmKernel.ntScalar(GemmKernel.rowsOf(a), GemmKernel.rowsOf(b), twin);
      for (int threads : new int[] {1, 2, 3}) {
        float[] c = new float[m * n];
        Kernels.matmulNT(a, b, c, threads);
        assertThat(c).as("%s, %d threads", fb, threads).isEqualTo(twin);
      }
      float[] nn = new float[m * n];
      Kernels.matmulNN(a, transpose(b), nn, 2);
      assertThat(nn).as("NN %s", fb).isEqualTo(twin);
      float[] row = new float[n];
      Kernels.matmulNT(a.slice(m - 1, m), b, row, 1); // the decode path (M = 1)
      assertThat(row).isEqualTo(java.util.Arrays.copyOfRange(twin, (m - 1) * n, m * n));
    }
  }

  @Test
  void matvecReadsNativeAndMappedLikeStorage() {
    int n = 37, k = 4095;
    try (Arena arena = Arena.ofConfined()) {
      for (FloatFormat fb : FORMATS) {
        Tensor heap = random(fb, n, k, 9);
        MemorySegment off = arena.allocate(heap.segment().byteSize(), 64);
        off.copyFrom(heap.segment());
        Tensor offHeap = Tensor.wrap(fb, heap.shape(), off);
        Tensor x = random(FloatFormat.FP32, 1, k, 10);
        float[] c1 = new float[n];
        float[] c2 = new float[n];
        Kernels.matmulNT(x, heap, c1, 1);
        Kernels.matmulNT(x, offHeap, c2, 2);
        assertThat(c2).isEqualTo(c1);
      }
    }
  }

  @Test
  void fp16MatvecRecomputesRowsWithInfOrNanWeightsExactly() {
    // The register decode maps every exponent-all-ones pattern to ±inf; those rows are recomputed.
    int n = 13, k = 1000 + 5; // 4-row blocks, one 1-row rest, a tail of 5
    short[][] specials = {{0x7c00}, {(short) 0xfc00}, {0x7c01}, {0x7e00}, {(short) 0xfd55}};
    Tensor x = random(FloatFormat.FP32, 1, k, 21);
    for (short[] sp : specials) {
      Tensor w = random(FloatFormat.FP16, n, k, 22);
      java.lang.foreign.MemorySegment seg = w.segment();
      seg.setAtIndex(
          java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 1L * k + 17, sp[0]); // body
      seg.setAtIndex(
          java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 6L * k + k - 2, sp[0]); // tail
      seg.setAtIndex(
          java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 12L * k, sp[0]); // last row
      float[] c = new float[n];
      Kernels.matmulNT(x, w, c, 2);
      float[] twin = new float[n];
      GemmKernel.ntScalar(GemmKernel.rowsOf(x), GemmKernel.rowsOf(w), twin);
      assertThat(c).as("0x%04x", sp[0]).isEqualTo(twin);
      for (int j = 0; j < n; j++) {
        assertThat(Float.isFinite(c[j])).as("row %d", j).isEqualTo(j != 1 && j != 6 && j != 12);
      }
    }
  }

  @Test
  void nanAndInfinityPropagateToTheirOutputsOnly() {
    int m = 6, n = 5, k = 33;
    for (FloatFormat f : FORMATS) {
      Tensor a = random(f, m, k, 3);
      Tensor b = random(f, n, k, 4);
      a.set(2L * k + 32, Float.NaN); // row 2, in the tail
      b.set(3L * k + 5, Float.POSITIVE_INFINITY); // row 3, in the lane body
      float[] c = new float[m * n];
      Kernels.matmulNT(a, b, c, 2);
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          float v = c[i * n + j];
          if (i == 2) {
            assertThat(v).as("%s c[%d,%d]", f, i, j).isNaN();
          } else if (j == 3) {
            assertThat(Float.isInfinite(v)).as("%s c[%d,%d]=%s", f, i, j, v).isTrue();
          } else {
            assertThat(Float.isFinite(v)).as("%s c[%d,%d]", f, i, j).isTrue();
          }
        }
      }
      float[] row = new float[n];
      Kernels.matmulNT(a.slice(2, 3), b, row, 1);
      for (float v : row) {
        assertThat(v).isNaN();
      }
    }
  }

  @Test
  void emptyReductionGivesZeroAndEmptyOutputsAreFine() {
    float[] c = {5f, 5f};
    Kernels.matmulNT(
        Tensor.zeros(FloatFormat.FP32, Shape.of(1, 0)),
        Tensor.zeros(FloatFormat.FP32, Shape.of(2, 0)),
        c,
        2);
    assertThat(c).containsExactly(0f, 0f); // the empty sum
    Kernels.matmulNT(
        Tensor.zeros(FloatFormat.FP32, Shape.of(0, 3)),
        Tensor.zeros(FloatFormat.FP32, Shape.of(2, 3)),
        new float[0],
        2);
  }

  @Test
  void badShapesAndThreadsAreRejectedWithAMessage() {
    Tensor a = random(FloatFormat.FP32, 2, 3, 1);
    Tensor b = random(FloatFormat.FP32, 4, 5, 1);
    assertThatThrownBy(() -> Kernels.matmulNT(a, b, new float[8], 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected b (N, 3)");
    assertThatThrownBy(
            () -> Kernels.matmulNT(a, random(FloatFormat.FP32, 4, 3, 1), new float[7], 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs 8");
    assertThatThrownBy(
            () -> Kernels.matmulNT(a, random(FloatFormat.FP32, 4, 3, 1), new float[8], 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("threads");
  }

  @Test
  void decodeRowDecodes16BitRows() {
    Tensor t = random(FloatFormat.FP16, 3, 33, 5);
    float[] row = new float[33];
    Kernels.decodeRow(t, 2, row);
    for (int i = 0; i < 33; i++) {
      assertThat(row[i]).isEqualTo(t.get(2, i));
    }
  }
}
