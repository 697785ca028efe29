package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The FP32 row kernels that the ops' FP32 paths and llama's FP32 decode step share ({@link
 * RmsNorm#rowFp32}, {@link Rope#rotateFp32}, {@link SwiGlu#rowFp32}, {@link Softmax#rowsFp32}):
 * each kernel, and its scalar twin, against the op's double path with {@link Precision#FP32} (the
 * reference: every step in double, rounded to FP32 per step, written separately). Zero budget: the
 * kernels claim the same bits. NaN is compared as NaN (stored tensors canonicalise its payload).
 *
 * <p>Inputs: random values over many binades plus NaN, ±inf, ±0, FP32 subnormals and a fully −inf
 * softmax row; sizes 1, 7, 31, 33, 4095 (the vector tails).
 */
class Fp32RowKernelsTest {

  private static final int[] SIZES = {1, 7, 31, 33, 4095};
  private static final Site S = Site.of("row_kernels");
  private static final Precision P = Precision.FP32;

  private static float[] values(int n, long seed, boolean specials) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] special = {
      Float.NaN,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      0f,
      -0f,
      Float.MIN_VALUE,
      -Float.MIN_NORMAL / 3,
      Float.MIN_NORMAL,
      -88.7f,
      104f,
      1e-5f
    };
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      if (specials && rnd.nextInt(12) == 0) {
        v[i] = special[rnd.nextInt(special.length)];
      } else {
        double mag = Math.scalb(rnd.nextDouble(1, 2), rnd.nextInt(-20, 8));
        v[i] = (float) (rnd.nextBoolean() ? mag : -mag);
      }
    }
    return v;
  }

  private static void sameBits(String what, float[] got, float[] want) {
    assertThat(got).as(what).hasSameSizeAs(want);
    for (int i = 0; i < want.length; i++) {
      assertThat(Float.floatToIntBits(got[i]))
          .as("%s at %d: got %s, want %s", what, i, got[i], want[i])
          .isEqualTo(Float.floatToIntBits(want[i]));
    }
  }

  @Test
  void rmsNormRowIsTheDoublePath() {
    for (int c : SIZES) {
      for (boolean specials : new boolean[] {false, true}) {
        float[] x = values(c, c, specials), w = values(c, 7L * c, false);
        float eps = 1e-5f;
        RmsNorm.Forward ref =
            RmsNorm.forwardDoubles(
                OpContext.DEFAULT,
                S,
                P,
                Tensor.of(FloatFormat.FP32, Shape.of(1, c), x),
                Tensor.of(FloatFormat.FP32, Shape.of(c), w),
                eps);
        float[] y = new float[c + 3], ys = new float[c + 3];
        float rs = RmsNorm.rowFp32(x, 0, w, eps, y, 3, c);
        float rss = RmsNorm.rowFp32Scalar(x, 0, w, eps, ys, 3, c);
        String what = "rmsnorm C=" + c + " specials=" + specials;
        sameBits(what, Arrays.copyOfRange(y, 3, c + 3), ref.y().toFloatArray());
        sameBits(what + " scalar", Arrays.copyOfRange(ys, 3, c + 3), ref.y().toFloatArray());
        sameBits(what + " rstd", new float[] {rs, rss}, new float[] {(float) ref.rstd()[0], rs});
        float[] inPlace = x.clone();
        RmsNorm.rowFp32(inPlace, 0, w, eps, inPlace, 0, c);
        sameBits(what + " in place", inPlace, ref.y().toFloatArray());
      }
    }
  }

  @Test
  void swiGluRowIsTheDoublePath() {
    for (int n : SIZES) {
      float[] g = values(n, 3L * n, true), u = values(n, 5L * n, true);
      float[] want =
          SwiGlu.forwardDoubles(
                  OpContext.DEFAULT,
                  S,
                  P,
                  Tensor.of(FloatFormat.FP32, Shape.of(1, n), g),
                  Tensor.of(FloatFormat.FP32, Shape.of(1, n), u))
              .toFloatArray();
      float[] h = new float[n], hs = new float[n], gIn = g.clone();
      SwiGlu.rowFp32(g, 0, u, 0, h, 0, n, new float[n]);
      SwiGlu.rowFp32Scalar(g, 0, u, 0, hs, 0, n);
      SwiGlu.rowFp32(gIn, 0, u, 0, gIn, 0, n, new float[n]); // h = g, as the decode step
      sameBits("swiglu n=" + n, h, want);
      sameBits("swiglu scalar n=" + n, hs, want);
      sameBits("swiglu in place n=" + n, gIn, want);
      float[] silu = new float[n];
      Silu.rowFp32(g, 0, silu, 0, n, new float[n]);
      float[] siluWant =
          Silu.forwardDoubles(
                  OpContext.DEFAULT, S, P, Tensor.of(FloatFormat.FP32, Shape.of(1, n), g))
              .toFloatArray();
      sameBits("silu n=" + n, silu, siluWant);
    }
  }

  @Test
  void softmaxRowsAreTheDoublePath() {
    for (int n : SIZES) {
      for (int rows : new int[] {1, 4, 6}) {
        float[] x = values(rows * n, 11L * n + rows, true);
        if (rows > 1) {
          Arrays.fill(x, n, 2 * n, Float.NEGATIVE_INFINITY); // 0/0: NaN
        }
        float[] want =
            Softmax.forwardDoubles(
                    OpContext.DEFAULT, S, P, Tensor.of(FloatFormat.FP32, Shape.of(rows, n), x))
                .toFloatArray();
        float[] y = new float[rows * n + 2], ys = new float[rows * n + 2];
        Softmax.rowsFp32(x, 0, rows, n, y, 2);
        Softmax.rowsFp32Scalar(x, 0, rows, n, ys, 2);
        String what = "softmax rows=" + rows + " n=" + n;
        sameBits(what, Arrays.copyOfRange(y, 2, rows * n + 2), want);
        sameBits(what + " scalar", Arrays.copyOfRange(ys, 2, rows * n + 2), want);
        float[] inPlace = x.clone();
        Softmax.rowsFp32(inPlace, 0, rows, n, inPlace, 0);
        sameBits(what + " in place", inPlace, want);
      }
    }
  }

  @Test
  void ropeRowIsTheDoublePath() {
    for (Rope.Layout layout : Rope.Layout.values()) {
      for (int d : new int[] {2, 8, 64}) {
        for (int heads : new int[] {1, 3}) {
          for (int pos : new int[] {0, 1, 7, 255, 4095}) {
            int hd = heads * d;
            float[] x = values(hd, 13L * hd + pos, true);
            float[] want =
                Rope.forwardDoubles(
                        OpContext.DEFAULT,
                        S,
                        P,
                        Tensor.of(FloatFormat.FP32, Shape.of(1, hd), x),
                        heads,
                        new int[] {pos},
                        10000.0,
                        layout)
                    .toFloatArray();
            float[] invFreq = Rope.inverseFrequenciesFp32(10000.0, d);
            float[] cos = new float[d / 2], sin = new float[d / 2];
            Rope.anglesFp32(pos, invFreq, cos, sin);
            float[] y = new float[hd + 1];
            Rope.rotateFp32(x, 0, y, 1, heads, d, layout, cos, sin);
            String what = "rope " + layout + " D=" + d + " H=" + heads + " pos=" + pos;
            sameBits(what, Arrays.copyOfRange(y, 1, hd + 1), want);
            float[] inPlace = x.clone();
            Rope.rotateFp32(inPlace, 0, inPlace, 0, heads, d, layout, cos, sin);
            sameBits(what + " in place", inPlace, want);
          }
        }
      }
    }
  }
}
