package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.Overflow;
import io.nanscope.engine.format.RoundingSpec;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vector census behind {@link TensorStats#of(Tensor, Tensor)} against the element-by-element
 * pass ({@link TensorStats#scalar}, the code it replaced): equal records (every count, extreme and
 * the NaN of "no unrounded value") for every built-in format but FP64 and a custom one, with and
 * without unrounded values, nearest-even and saturating stores, sizes 1, 7, 31, 33, 4095 and one
 * past a chunk (4097), over values that overflow, underflow, are subnormal, ±0, ±inf and NaN.
 */
class TensorStatsCensusTest {

  private static float[] unrounded(FloatFormat f, int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    double max = f.info().maxFinite(), tiny = f.info().minSubnormal();
    float[] special = {
      Float.NaN,
      Float.POSITIVE_INFINITY,
      Float.NEGATIVE_INFINITY,
      0f,
      -0f,
      (float) max,
      (float) -max,
      (float) Math.min(max * 1.001, Float.MAX_VALUE),
      (float) Math.min(max * 1.5, Float.MAX_VALUE),
      (float) (tiny / 3),
      (float) tiny,
      (float) (tiny * 5),
      Float.MIN_VALUE,
      -Float.MIN_VALUE,
      66975f,
      65519f
    };
    float[] u = new float[n];
    for (int i = 0; i < n; i++) {
      if (rnd.nextInt(4) == 0) {
        u[i] = special[rnd.nextInt(special.length)];
      } else {
        double m = Math.scalb(rnd.nextDouble(1, 2), rnd.nextInt(-150, 128));
        u[i] = (float) (rnd.nextBoolean() ? m : -m);
      }
    }
    return u;
  }

  @Test
  void vectorCensusEqualsTheScalarPass() {
    List<FloatFormat> formats = new ArrayList<>();
    for (FloatFormat f : FloatFormat.builtIns()) {
      if (f != FloatFormat.FP64) {
        formats.add(f);
      }
    }
    formats.add(FloatFormat.custom(6, 5));
    long seed = 1;
    int checked = 0;
    for (FloatFormat f : formats) {
      for (RoundingSpec spec :
          List.of(
              RoundingSpec.NEAREST_EVEN,
              RoundingSpec.NEAREST_EVEN.withOverflow(Overflow.SATURATE))) {
        for (int n : new int[] {1, 7, 31, 33, 4095, 4097}) {
          float[] u = unrounded(f, n, seed++);
          Shape sh = Shape.of(n);
          Tensor ut = Tensor.of(FloatFormat.FP32, sh, u);
          Tensor out = Tensor.zeros(f, sh);
          for (int i = 0; i < n; i++) {
            out.setDouble(i, f.round((double) u[i], spec, i));
          }
          TensorStats fast = TensorStats.of(out, ut);
          assertThat(fast).as("%s %s n=%d", f, spec, n).isEqualTo(TensorStats.scalar(out, ut));
          assertThat(TensorStats.of(out))
              .as("%s n=%d stored only", f, n)
              .isEqualTo(TensorStats.scalar(out, null));
          checked++;
        }
      }
    }
    assertThat(checked).isEqualTo(formats.size() * 2 * 6);
  }

  /**
   * {@link TensorStats#nanAndInf} (the anomaly tracer's pass) against a count over {@code
   * getDouble} written here, for every built-in format (FP64 included: a double above the float
   * range must stay finite), sizes 1, 7, 31, 33, 4095 and one past a chunk.
   */
  @Test
  void nanAndInfCountsAsTheElementByElementPass() {
    long seed = 100;
    int checked = 0;
    for (FloatFormat f : FloatFormat.builtIns()) {
      for (int n : new int[] {1, 7, 31, 33, 4095, 4097}) {
        float[] u = unrounded(f, n, seed++);
        Tensor out = Tensor.zeros(f, Shape.of(n));
        for (int i = 0; i < n; i++) {
          out.setDouble(i, f == FloatFormat.FP64 && i % 5 == 0 ? 1e300 : f.round((double) u[i]));
        }
        long nan = 0, inf = 0;
        for (int i = 0; i < n; i++) {
          double x = out.getDouble(i);
          nan += Double.isNaN(x) ? 1 : 0;
          inf += Double.isInfinite(x) ? 1 : 0;
        }
        assertThat(TensorStats.nanAndInf(out)).as("%s n=%d", f, n).containsExactly(nan, inf);
        checked++;
      }
    }
    assertThat(checked).isEqualTo(FloatFormat.builtIns().size() * 6);
  }

  @Test
  void saturatedOverflowIsCountedOnlyWhereNearestEvenOverflows() {
    Shape sh = Shape.of(3);
    // 65519 rounds down to 65504 legitimately; 66975 and 1e6 would have become inf.
    Tensor u = Tensor.of(FloatFormat.FP32, sh, 65519f, 66975f, 1e6f);
    Tensor out = Tensor.of(FloatFormat.FP16, sh, 65504f, 65504f, 65504f);
    TensorStats s = TensorStats.of(out, u);
    assertThat(s.overflow()).isEqualTo(2);
    assertThat(s.unroundedMaxAbs()).isEqualTo(1e6);
    assertThat(s).isEqualTo(TensorStats.scalar(out, u));
  }

  /**
   * Tensors made mostly of common blocks (what the bit census counts without decoding): every
   * unrounded value within the format's range, with zeros, underflows and subnormals, over several
   * chunks; in some cases one chunk holds a NaN, an inf or a saturated overflow (that chunk is
   * counted the old way, the others by the bit census). The storage is a heap array, a slice of one
   * (an offset into it) or native memory (chunk copies): each equal to the element-by-element pass.
   */
  @Test
  void bitCensusBlocksAsTheScalarPass() {
    SplittableRandom rnd = new SplittableRandom(77);
    int checked = 0;
    for (FloatFormat f : List.of(FloatFormat.FP16, FloatFormat.BF16, FloatFormat.FP32)) {
      double max = f.info().maxFinite(), tiny = f.info().minSubnormal();
      for (int n : new int[] {1, 7, 31, 33, 4095, 3 * 4096 + 33}) {
        for (int kind = 0; kind < 4; kind++) {
          int pad = 6; // rows before the slice
          float[] u = new float[n + pad];
          for (int i = 0; i < u.length; i++) {
            int r = rnd.nextInt(8);
            u[i] =
                r == 0
                    ? 0f
                    : r == 1
                        ? (float) (tiny * rnd.nextInt(1, 40) / 3)
                        : (float) Math.scalb(rnd.nextDouble(-1, 1), rnd.nextInt(-30, 15));
          }
          int at = pad + (n > 8192 ? 4096 + 17 : n / 2);
          switch (kind) {
            case 1 -> u[at] = Float.NaN;
            case 2 -> u[at] = Float.NEGATIVE_INFINITY;
            case 3 -> u[at] = (float) Math.min(max * 1.5, Float.MAX_VALUE);
            default -> {}
          }
          RoundingSpec spec =
              kind == 3
                  ? RoundingSpec.NEAREST_EVEN.withOverflow(Overflow.SATURATE)
                  : RoundingSpec.NEAREST_EVEN;
          Shape whole = Shape.of(n + pad, 1);
          Tensor ut = Tensor.of(FloatFormat.FP32, whole, u);
          Tensor out = Tensor.zeros(f, whole);
          for (int i = 0; i < u.length; i++) {
            out.setDouble(i, f.round((double) u[i], spec, i));
          }
          Tensor sliceOut = out.slice(pad, n + pad), sliceU = ut.slice(pad, n + pad);
          java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofAuto();
          Tensor nativeOut =
              Tensor.wrap(
                  f,
                  sliceOut.shape(),
                  arena.allocate(sliceOut.segment().byteSize()).copyFrom(sliceOut.segment()));
          Tensor nativeU =
              Tensor.wrap(
                  FloatFormat.FP32,
                  sliceU.shape(),
                  arena.allocate(sliceU.segment().byteSize()).copyFrom(sliceU.segment()));
          Tensor uOrNull = f == FloatFormat.FP32 ? null : ut;
          String what = f + " n=" + n + " kind=" + kind;
          assertThat(TensorStats.of(out, uOrNull))
              .as(what + " heap")
              .isEqualTo(TensorStats.scalar(out, uOrNull));
          assertThat(TensorStats.of(out))
              .as(what + " heap, stored only")
              .isEqualTo(TensorStats.scalar(out, null));
          TensorStats wantSlice =
              TensorStats.scalar(sliceOut, f == FloatFormat.FP32 ? null : sliceU);
          assertThat(TensorStats.of(sliceOut, f == FloatFormat.FP32 ? null : sliceU))
              .as(what + " slice")
              .isEqualTo(wantSlice);
          assertThat(TensorStats.of(nativeOut, f == FloatFormat.FP32 ? null : nativeU))
              .as(what + " native")
              .isEqualTo(wantSlice);
          if (kind == 0 && n >= 4095) {
            assertThat(wantSlice.zero()).as(what + " has zeros").isPositive();
          }
          checked++;
        }
      }
    }
    assertThat(checked).isEqualTo(3 * 6 * 4);
  }
}
