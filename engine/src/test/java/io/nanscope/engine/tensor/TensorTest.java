package io.nanscope.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;

class TensorTest {

  @Test
  void everyFp16AndBf16BitPatternRoundTripsThroughStorage() {
    // Exhaustive (docs/architecture.md, design rules): set(decode(bits)) must store the same bits,
    // except NaN payloads,
    // which only need to stay NaN. Oracle for FP16: the JDK's Float.float16ToFloat.
    for (FloatFormat f : List.of(FloatFormat.FP16, FloatFormat.BF16)) {
      Tensor t = Tensor.zeros(f, Shape.of(65536));
      for (int b = 0; b < 65536; b++) {
        t.set(b, f.decode16((short) b));
      }
      for (int b = 0; b < 65536; b++) {
        short stored =
            t.segment().getAtIndex(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, b);
        float v = t.get(b);
        if (Float.isNaN(v)) {
          assertThat(Float.isNaN(f.decode16((short) b))).as("%s %04x", f, b).isTrue();
        } else {
          assertThat(stored & 0xFFFF).as("%s %04x", f, b).isEqualTo(b);
        }
        if (f == FloatFormat.FP16 && !Float.isNaN(v)) {
          assertThat(v).isEqualTo(Float.float16ToFloat((short) b));
        }
      }
    }
  }

  @Test
  void everyFp8BitPatternRoundTripsThroughByteStorage() {
    for (FloatFormat f : List.of(FloatFormat.FP8_E4M3, FloatFormat.FP8_E5M2)) {
      assertThat(StorageKind.of(f)).isEqualTo(StorageKind.BITS8);
      Tensor t = Tensor.zeros(f, Shape.of(256));
      for (int b = 0; b < 256; b++) {
        t.set(b, f.decode8((byte) b));
      }
      for (int b = 0; b < 256; b++) {
        float want = f.decode8((byte) b);
        if (Float.isNaN(want)) {
          assertThat(t.get(b)).as("%s %02x", f, b).isNaN();
        } else {
          assertThat(t.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, b) & 0xFF)
              .as("%s %02x", f, b)
              .isEqualTo(b);
          assertThat(t.get(b)).isEqualTo(want);
        }
      }
    }
    // E4M3 max is 448; 500 rounds to NaN (no infinity), E5M2 overflows to inf.
    assertThat(Tensor.of(FloatFormat.FP8_E4M3, Shape.of(1), 448f).get(0)).isEqualTo(448f);
    assertThat(Tensor.of(FloatFormat.FP8_E5M2, Shape.of(1), 1e6f).get(0)).isInfinite();
  }

  @Test
  void setDoubleRoundsOnceFromDouble() {
    // 1 + 2^-11 + 2^-40 is just above the FP16 tie between 1 and 1 + 2^-10: the correct FP16 value
    // is 1 + 2^-10. Going through float first drops 2^-40 and the tie goes to even, 1.
    double v = 1 + Math.scalb(1.0, -11) + Math.scalb(1.0, -40);
    Tensor t = Tensor.zeros(FloatFormat.FP16, Shape.of(1));
    t.setDouble(0, v);
    assertThat(t.get(0)).isEqualTo(1 + Math.scalb(1f, -10));
  }

  @Test
  void fp32AndFp64KeepTheirValuesAndDoubleAccessIsExact() {
    Tensor t32 = Tensor.of(FloatFormat.FP32, Shape.of(3), 0.1f, Float.MIN_VALUE, -Float.MAX_VALUE);
    assertThat(t32.toFloatArray()).containsExactly(0.1f, Float.MIN_VALUE, -Float.MAX_VALUE);
    Tensor t64 = Tensor.ofDoubles(FloatFormat.FP64, Shape.of(2), 0.1, 1e300);
    assertThat(t64.toDoubleArray()).containsExactly(0.1, 1e300);
    assertThat(t64.getDouble(0)).isEqualTo(0.1);
    // writes round: 1/3 in FP16 is 0.33325195...
    Tensor h = Tensor.ofDoubles(FloatFormat.FP16, Shape.of(2), 1.0 / 3, 70000);
    assertThat(h.get(0)).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(1f / 3)));
    assertThat(h.get(1)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(h.to(FloatFormat.FP64).toDoubleArray())
        .containsExactly(h.getDouble(0), Double.POSITIVE_INFINITY);
  }

  @Test
  void reshapeAndSliceAreViewsOnTheSameStorage() {
    Tensor t = Tensor.of(FloatFormat.BF16, Shape.of(3, 2), 1, 2, 3, 4, 5, 6);
    Tensor flat = t.reshape(Shape.of(6));
    Tensor mid = t.slice(1, 3);
    assertThat(mid.shape()).isEqualTo(Shape.of(2, 2));
    assertThat(mid.toFloatArray()).containsExactly(3, 4, 5, 6);
    mid.set(0, 30f);
    assertThat(t.get(2)).isEqualTo(30f);
    assertThat(flat.get(2)).isEqualTo(30f);
    Tensor copy = t.copy();
    copy.set(0, 9f);
    assertThat(t.get(0)).isEqualTo(1f);
    assertThatThrownBy(() -> t.reshape(Shape.of(4))).hasMessageContaining("cannot reshape");
    assertThatThrownBy(() -> t.slice(2, 4)).hasMessageContaining("outside the first axis");
  }

  @Test
  void sizesAreLongAndOverflowIsCaught() {
    Shape big = Shape.of(32000, 4096, 32); // 4.2e9 elements: past int, fine as long
    assertThat(big.size()).isEqualTo(32000L * 4096 * 32);
    assertThat(big.strides()).containsExactly(4096L * 32, 32, 1);
    assertThatThrownBy(() -> Shape.of(1L << 32, 1L << 32)).hasMessageContaining("more than 2^63");
    assertThatThrownBy(() -> Shape.of(3, -1)).hasMessageContaining("negative");
    assertThat(Shape.of().size()).isEqualTo(1);
    assertThat(Shape.of(7).toString()).isEqualTo("(7,)");
    MemorySegment seg = MemorySegment.ofArray(new short[5]);
    assertThatThrownBy(() -> Tensor.wrap(FloatFormat.FP16, Shape.of(2, 3), seg))
        .hasMessageContaining("needs 12 bytes");
    assertThat(Tensor.wrap(FloatFormat.FP16, Shape.of(5), seg).size()).isEqualTo(5);
  }

  /**
   * The bulk paths (ofDoubles, copyFrom, toFloatArray, toDoubleArray) store and read exactly what
   * the per-element setDouble/set/get do, for every built-in format, on values that hit every case:
   * floats and non-floats, ties, overflow, subnormals and underflow, ±0, ±inf, NaNs with payloads.
   */
  @Test
  void bulkPathsAreElementwiseBitForBit() {
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
    int n = 4099;
    double[] d = new double[n];
    double[] special = {
      0.0,
      -0.0,
      Double.POSITIVE_INFINITY,
      Double.NEGATIVE_INFINITY,
      Double.NaN,
      Double.longBitsToDouble(0x7ff0000000000123L),
      Double.longBitsToDouble(0xfff8000000000001L),
      65504,
      65520,
      65519.999,
      1e-8,
      5.96e-8,
      2.98e-8,
      3.4028235677973366e38,
      1e39,
      Double.MIN_VALUE,
      1 + Math.ulp(1.0f) / 2,
      448,
      464,
      57344,
      61440
    };
    for (int i = 0; i < n; i++) {
      d[i] =
          i < special.length
              ? special[i]
              : switch (i % 3) {
                case 0 ->
                    (float) (rnd.nextGaussian() * Math.scalb(1.0, rnd.nextInt(-30, 30))); // a float
                case 1 ->
                    rnd.nextGaussian() * Math.scalb(1.0, rnd.nextInt(-150, 140)); // any double
                default ->
                    Float.intBitsToFloat(rnd.nextInt()); // any float bit pattern, NaN payloads too
              };
    }
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = (float) d[i];
    }
    for (FloatFormat fmt : FloatFormat.builtIns()) {
      Shape shape = Shape.of(n);
      Tensor one = Tensor.zeros(fmt, shape);
      Tensor oneF = Tensor.zeros(fmt, shape);
      for (int i = 0; i < n; i++) {
        one.setDouble(i, d[i]);
        oneF.set(i, f[i]);
      }
      Tensor bulk = Tensor.ofDoubles(fmt, shape, d);
      Tensor bulkF = Tensor.zeros(fmt, shape);
      bulkF.copyFrom(f);
      assertThat(bytes(bulk)).as("%s ofDoubles", fmt).isEqualTo(bytes(one));
      assertThat(bytes(bulkF)).as("%s copyFrom", fmt).isEqualTo(bytes(oneF));
      float[] read = one.toFloatArray();
      double[] readD = one.toDoubleArray();
      for (int i = 0; i < n; i++) {
        assertThat(Float.floatToRawIntBits(read[i]))
            .as("%s toFloatArray[%d]", fmt, i)
            .isEqualTo(Float.floatToRawIntBits(one.get(i)));
        assertThat(Double.doubleToRawLongBits(readD[i]))
            .as("%s toDoubleArray[%d]", fmt, i)
            .isEqualTo(Double.doubleToRawLongBits(one.getDouble(i)));
      }
    }
  }

  private static byte[] bytes(Tensor t) {
    return t.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
  }
}
