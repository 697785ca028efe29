package io.nanscope.engine.simd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.lanes.Lanes;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The GEMM's three paths on one machine, bit for bit against the scalar twin ({@link
 * GemmKernel#ntScalar}, one unblocked ordered dot per output) and so against each other: the
 * 512-bit lane-split GEMM ({@link LaneSplitGemm}), the 256-bit dot-form GEMM ({@link
 * GemmKernel#blockedDot}), and the small-shape path ({@link GemmKernel#small}); both species run on
 * any machine (on one without AVX-512 the 512-bit one is emulated, slowly but with the same
 * arithmetic). Shapes hit every edge: M and N not multiples of the micro-tiles (12×32 wide, 4×4
 * narrow), K tails 1..7, K over several K blocks (the last ragged), N over one task block;
 * row-major and column views (the staged packing), FP32, BF16 and FP16 storage, 1 and 2 threads;
 * NaN, ±inf, ±0 and subnormals (NaN compared as NaN: see {@link #bits}).
 */
class GemmWidthTest {

  private static final FloatFormat[] FORMATS = {
    FloatFormat.FP32, FloatFormat.BF16, FloatFormat.FP16
  };

  static Stream<Arguments> shapes() {
    int[][] mnk = {
      {2, 1, 1},
      {2, 7, 31},
      {3, 33, 4095},
      {7, 31, 33},
      {31, 33, 7},
      {9, 13, 64},
      {8, 6, 8},
      {17, 12, 1},
      {20, 64, 64},
      {20, 172, 64},
      {20, 64, 172},
      {33, 7, 517},
      {5, 300, 40}
    };
    Stream.Builder<Arguments> b = Stream.builder();
    for (int[] s : mnk) {
      for (FloatFormat fb : FORMATS) {
        b.add(Arguments.of(s[0], s[1], s[2], fb));
      }
    }
    return b.build();
  }

  /**
   * The bits of c, every NaN as the canonical one: Java arithmetic does not specify which NaN
   * payload or sign an operation returns (x86 gives −NaN for ∞ − ∞ and the first operand's NaN when
   * both are NaN), so the contract is "NaN exactly where the twin has NaN".
   */
  static int[] bits(float[] c) {
    int[] out = new int[c.length];
    for (int i = 0; i < c.length; i++) {
      out[i] = Float.floatToIntBits(c[i]);
    }
    return out;
  }

  static void assertAllPathsEqualTwin(Tensor a, Tensor b, boolean columns, String what) {
    GemmKernel.Rows ra = GemmKernel.rowsOf(a);
    GemmKernel.Rows rb =
        columns ? GemmKernel.columnsOf(KernelsTest.transpose(b)) : GemmKernel.rowsOf(b);
    int m = ra.count, n = rb.count;
    float[] twin = new float[m * n];
    GemmKernel.ntScalar(ra, rb, twin);
    int[] expected = bits(twin);
    for (int threads : new int[] {1, 2}) {
      for (boolean wide : new boolean[] {true, false}) {
        float[] c = new float[m * n];
        GemmKernel.blocked(ra, rb, c, threads, wide);
        assertThat(bits(c))
            .as("%s, %s, %d threads", what, wide ? "512" : "256", threads)
            .isEqualTo(expected);
      }
    }
    float[] c = new float[m * n];
    GemmKernel.small(ra, rb, c);
    assertThat(bits(c)).as("%s, small path", what).isEqualTo(expected);
    c = new float[m * n];
    GemmKernel.nt(ra, rb, c, 2);
    assertThat(bits(c)).as("%s, nt as routed", what).isEqualTo(expected);
  }

  @ParameterizedTest(name = "M={0} N={1} K={2} b={3}")
  @MethodSource("shapes")
  void wideNarrowAndSmallPathsGiveTheTwinsBits(int m, int n, int k, FloatFormat fb) {
    Tensor a = KernelsTest.random(FloatFormat.FP32, m, k, 3L * m + k);
    Tensor b = KernelsTest.random(fb, n, k, 5L * n + k);
    assertAllPathsEqualTwin(a, b, false, "rows");
    assertAllPathsEqualTwin(a, b, true, "columns of bᵀ");
    // A in 16-bit storage: the wide path packs BF16 rows straight from storage, FP16 rows staged.
    Tensor a16 = KernelsTest.random(fb, m, k, 7L * m + k);
    assertAllPathsEqualTwin(a16, b, false, "a " + fb);
  }

  @Test
  void severalKBlocksAndTaskBlocksKeepTheOrder() {
    // Three K blocks (the last ragged) and a tail of 3; N over one task block; M over MC: for both
    // blocked GEMMs.
    int m = Math.max(GemmKernel.MC, LaneSplitGemm.MC) + 11;
    int n = Math.max(GemmKernel.NB, LaneSplitGemm.NB) + 13;
    int k = Math.max(2 * GemmKernel.KC, 2 * 8 * LaneSplitGemm.KCQ) + 96 + 3;
    Tensor a = KernelsTest.random(FloatFormat.FP32, m, k, 11);
    for (FloatFormat fb : new FloatFormat[] {FloatFormat.FP32, FloatFormat.BF16}) {
      Tensor b = KernelsTest.random(fb, n, k, 12);
      float[] twin = new float[m * n];
      GemmKernel.ntScalar(GemmKernel.rowsOf(a), GemmKernel.rowsOf(b), twin);
      for (int threads : new int[] {1, 3}) {
        for (boolean wide : new boolean[] {true, false}) {
          float[] c = new float[m * n];
          GemmKernel.blocked(GemmKernel.rowsOf(a), GemmKernel.rowsOf(b), c, threads, wide);
          assertThat(bits(c)).as("%s %s %d threads", fb, wide, threads).isEqualTo(bits(twin));
        }
      }
    }
  }

  @Test
  void wholeBBlockTasksKeepTheOrder() {
    // N over 12 task blocks (the last ragged) and M over 3 row chunks: with 1, 2 and 3 threads the
    // 512-bit GEMM runs a whole B block per task (every M chunk of it, B packed once), with 4 it
    // splits the M chunks of a block over tasks; K over one pack chunk with a tail of 5.
    int m = 2 * LaneSplitGemm.MC + 17;
    int n = 11 * LaneSplitGemm.NB + 45;
    int k = 8 * 13 + 5;
    Tensor a = KernelsTest.random(FloatFormat.FP32, m, k, 21);
    Tensor b = KernelsTest.random(FloatFormat.FP32, n, k, 22);
    float[] twin = new float[m * n];
    GemmKernel.ntScalar(GemmKernel.rowsOf(a), GemmKernel.rowsOf(b), twin);
    for (int threads = 1; threads <= 4; threads++) {
      float[] c = new float[m * n];
      GemmKernel.blocked(GemmKernel.rowsOf(a), GemmKernel.rowsOf(b), c, threads, true);
      assertThat(bits(c)).as("%d threads", threads).isEqualTo(bits(twin));
    }
  }

  @Test
  void specialValuesReachTheSameOutputsOnEveryPath() {
    int m = 13, n = 11, k = 77;
    float[] av = new float[m * k];
    float[] bv = new float[n * k];
    SplittableRandom rnd = new SplittableRandom(42);
    for (int i = 0; i < av.length; i++) {
      av[i] = (float) rnd.nextDouble(-1, 1);
    }
    for (int i = 0; i < bv.length; i++) {
      bv[i] = (float) rnd.nextDouble(-1, 1);
    }
    av[3] = Float.NaN; // row 0, lane 3
    av[k + 75] = Float.POSITIVE_INFINITY; // row 1, in the tail
    av[5 * k + 8] = Float.intBitsToFloat(0x7fc0_1234); // a NaN payload
    av[6 * k + 9] = -0f;
    av[7 * k + 10] = Float.MIN_VALUE; // subnormal
    bv[2 * k + 17] = Float.NEGATIVE_INFINITY;
    bv[4 * k + 1] = Float.intBitsToFloat(0x0000_0fff); // subnormal
    bv[9 * k + 76] = Float.NaN; // last tail term
    for (int r = 0; r < m; r++) {
      av[r * k + 40] = 3e38f; // products overflow to ±inf in some lanes
    }
    bv[10 * k + 40] = 3e38f;
    Tensor a = Tensor.of(FloatFormat.FP32, Shape.of(m, k), av);
    Tensor b = Tensor.of(FloatFormat.FP32, Shape.of(n, k), bv);
    assertAllPathsEqualTwin(a, b, false, "special values");
    float[] c = new float[m * n];
    GemmKernel.blocked(GemmKernel.rowsOf(a), GemmKernel.rowsOf(b), c, 1, true);
    assertThat(c[0]).isNaN(); // a NaN reaches its row
    assertThat(Float.isInfinite(c[2 * n + 2])).as("finite row · column with -inf").isTrue();
    assertThat(c[3 * n + 10]).isEqualTo(Float.POSITIVE_INFINITY); // 3e38 · 3e38 overflows
  }

  @Test
  void reduce8x8IsEightReduce8ScalarsBitForBit() {
    SplittableRandom rnd = new SplittableRandom(9);
    float[] specials = {
      Float.NaN,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      -0f,
      0f,
      Float.MIN_VALUE,
      -Float.MIN_NORMAL / 3,
      Float.MAX_VALUE,
      1e-30f
    };
    for (int trial = 0; trial < 2000; trial++) {
      float[] acc = new float[64 + 5];
      for (int i = 0; i < acc.length; i++) {
        acc[i] =
            rnd.nextInt(8) == 0
                ? specials[rnd.nextInt(specials.length)]
                : (float) (rnd.nextDouble(-1, 1) * Math.pow(2, rnd.nextInt(-30, 30)));
      }
      int off = trial % 6;
      float[] out = new float[8];
      Lanes.reduce8x8(acc, off, out, 0);
      for (int o = 0; o < 8; o++) {
        assertThat(Float.floatToIntBits(out[o]))
            .as("trial %d output %d", trial, o)
            .isEqualTo(Float.floatToIntBits(Lanes.reduce8Scalar(acc, off + 8 * o)));
      }
    }
  }

  @Test
  void widthIsSelectedByThePropertyElseByThePreferredSpecies() {
    assertThat(Width.wide(null, 512)).isTrue();
    assertThat(Width.wide(null, 256)).isFalse();
    assertThat(Width.wide("256", 512)).isFalse();
    assertThat(Width.wide("512", 256)).isTrue();
    assertThat(Width.wide(" 512 ", 128)).isTrue();
    assertThatThrownBy(() -> Width.wide("1024", 512))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nanscope.simd.width must be 256 or 512, got '1024'");
    assertThat(Kernels.gemmWidthBits()).isIn(256, 512);
  }
}
