package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class TensorStatsTest {

  /** A 16-bit tensor holding exactly these bit patterns. */
  static Tensor fromBits16(FloatFormat f, int... bits) {
    Tensor t = Tensor.zeros(f, Shape.of(bits.length));
    for (int i = 0; i < bits.length; i++) {
      t.segment().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) bits[i]);
    }
    return t;
  }

  @Test
  void fp16SpecialValuesAreCountedByKind() {
    // +0, -0, min subnormal 2^-24, max subnormal, min normal 2^-14, 1, maxFinite, -maxFinite,
    // +inf, -inf, quiet NaN, NaN with payload.
    Tensor t =
        fromBits16(
            FloatFormat.FP16,
            0x0000,
            0x8000,
            0x0001,
            0x03ff,
            0x0400,
            0x3c00,
            0x7bff,
            0xfbff,
            0x7c00,
            0xfc00,
            0x7e00,
            0x7c01);
    TensorStats s = TensorStats.of(t);

    assertThat(s.count()).isEqualTo(12);
    assertThat(s.zero()).isEqualTo(2);
    assertThat(s.subnormal()).isEqualTo(2);
    assertThat(s.posInf()).isEqualTo(1);
    assertThat(s.negInf()).isEqualTo(1);
    assertThat(s.nan()).isEqualTo(2);
    assertThat(s.maxAbs()).isEqualTo(65504.0);
    assertThat(s.minAbsNonZero()).isEqualTo(Math.scalb(1.0, -24));
    assertThat(s.hasUnrounded()).isFalse();
    assertThat(s.overflow()).isZero();
    // It holds an infinity: no headroom in any format.
    assertThat(s.headroom()).isEqualTo(Double.NEGATIVE_INFINITY);
  }

  @Test
  void everyFp16AndBf16BitPatternExhaustively() {
    // Independent expectations from the bit fields: exponent all ones = inf (mantissa 0) or NaN;
    // exponent 0 = zero (mantissa 0) or subnormal.
    for (FloatFormat f : new FloatFormat[] {FloatFormat.FP16, FloatFormat.BF16}) {
      int mantBits = f == FloatFormat.FP16 ? 10 : 7;
      int expMask = f == FloatFormat.FP16 ? 0x7c00 : 0x7f80;
      int[] all = new int[65536];
      long nan = 0, inf = 0, zero = 0, sub = 0;
      for (int b = 0; b < 65536; b++) {
        all[b] = b;
        int e = b & expMask;
        int m = b & ((1 << mantBits) - 1);
        if (e == expMask) {
          if (m == 0) inf++;
          else nan++;
        } else if (e == 0) {
          if (m == 0) zero++;
          else sub++;
        }
      }
      TensorStats s = TensorStats.of(fromBits16(f, all));
      assertThat(s.nan()).as(f.name()).isEqualTo(nan);
      assertThat(s.infinities()).as(f.name()).isEqualTo(inf).isEqualTo(2);
      assertThat(s.zero()).as(f.name()).isEqualTo(zero).isEqualTo(2);
      assertThat(s.subnormal()).as(f.name()).isEqualTo(sub);
      double max =
          (2 - Math.scalb(1.0, -mantBits)) * Math.scalb(1.0, f == FloatFormat.FP16 ? 15 : 127);
      assertThat(s.maxAbs()).as(f.name()).isEqualTo(max);
      assertThat(s.minAbsNonZero())
          .as(f.name())
          .isEqualTo(Math.scalb(1.0, (f == FloatFormat.FP16 ? -14 : -126) - mantBits));
    }
  }

  @Test
  void overflowAndUnderflowCompareWithTheUnroundedValues() {
    // Unrounded FP32 values and what FP16 rounding (JDK Float.floatToFloat16) makes of them.
    float[] u = {
      66975.3f, 65519f, 65520f, 1e-8f, 3e-8f, 1.0f, Float.POSITIVE_INFINITY, Float.NaN, -70000f, 0f
    };
    Tensor unrounded = Tensor.of(FloatFormat.FP32, Shape.of(u.length), u);
    Tensor out = Tensor.zeros(FloatFormat.FP16, Shape.of(u.length));
    for (int i = 0; i < u.length; i++) {
      out.segment().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(u[i]));
    }
    TensorStats s = TensorStats.of(out, unrounded);

    // 66975.3, 65520, -70000 -> inf (finite before): 3 overflows; 65519 -> 65504 is not one;
    // +inf before rounding is not an overflow OF THIS ROUNDING.
    assertThat(s.overflow()).isEqualTo(3);
    assertThat(s.posInf()).isEqualTo(3);
    assertThat(s.negInf()).isEqualTo(1);
    // 1e-8 < 2^-25 -> 0: one underflow; 3e-8 -> 2^-24 survives as a subnormal; 0 -> 0 is not one.
    assertThat(s.underflow()).isEqualTo(1);
    assertThat(s.subnormal()).isEqualTo(1);
    assertThat(s.zero()).isEqualTo(2);
    assertThat(s.nan()).isEqualTo(1);
    assertThat(s.unroundedMaxAbs()).isEqualTo(70000.0);
    assertThat(s.maxAbs()).isEqualTo(65504.0);
  }

  @Test
  void chunkBoundariesAndTailsAreCountedOnce() {
    // Sizes around the 4096-element decoding chunk; specials on both sides of each boundary.
    for (int n : new int[] {1, 7, 4095, 4096, 4097, 10007}) {
      float[] v = new float[n];
      java.util.Arrays.fill(v, 1f);
      int[] where = {0, n / 2, n - 1, Math.min(4095, n - 1), Math.min(4096, n - 1)};
      java.util.Set<Integer> distinct = new java.util.TreeSet<>();
      for (int w : where) {
        distinct.add(w);
      }
      for (int w : distinct) {
        v[w] = 1e5f; // overflows FP16
      }
      Tensor u = Tensor.of(FloatFormat.FP32, Shape.of(n), v);
      Tensor out = Tensor.of(FloatFormat.FP16, Shape.of(n), v);
      TensorStats s = TensorStats.of(out, u);
      assertThat(s.count()).as("n=%d", n).isEqualTo(n);
      assertThat(s.posInf()).as("n=%d", n).isEqualTo(distinct.size());
      assertThat(s.overflow()).as("n=%d", n).isEqualTo(distinct.size());
      assertThat(TensorStats.of(u).maxAbs()).as("n=%d", n).isEqualTo(1e5f);
    }
  }

  @Test
  void saturationToMaxFiniteCountsOnlyWhereNearestWouldGiveInf() {
    // A saturating rounding (as FP8 E4M3 "fn" does) stores maxFinite where IEEE gives inf.
    Tensor out = fromBits16(FloatFormat.FP16, 0x7bff, 0x7bff, 0xfbff);
    Tensor u = Tensor.of(FloatFormat.FP32, Shape.of(3), 70000f, 65519f, -65520f);
    TensorStats s = TensorStats.of(out, u);
    assertThat(s.overflow()).isEqualTo(2); // 70000 and -65520; 65519 -> 65504 is plain rounding
    assertThat(s.infinities()).isZero();
  }

  @Test
  void headroomIsLog2OfMaxFiniteOverMaxAbsInAnyFormat() {
    Tensor t = Tensor.of(FloatFormat.FP32, Shape.of(2, 2), 0.0625f, -1e6f, 3f, 0f);
    TensorStats s = TensorStats.of(t);
    // Reference: log2 via BigDecimal-free identity log2(a/b) = log2(a) - log2(b), each from
    // Math.log10 (a different libm path from Math.log).
    double log2 = Math.log10(2);
    assertThat(s.headroomIn(FloatFormat.FP16))
        .isCloseTo(Math.log10(65504) / log2 - Math.log10(1e6) / log2, within(1e-12));
    assertThat(s.headroomIn(FloatFormat.FP16)).isNegative(); // 1e6 would not fit in FP16
    assertThat(s.headroomIn(FloatFormat.BF16))
        .isCloseTo(Math.log10(0x1.FEp127) / log2 - Math.log10(1e6) / log2, within(1e-12));
    assertThat(s.headroom())
        .isCloseTo(Math.log10(Float.MAX_VALUE) / log2 - Math.log10(1e6) / log2, within(1e-12));
    assertThat(TensorStats.of(Tensor.zeros(FloatFormat.FP16, Shape.of(3))).headroom())
        .isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(TensorStats.of(Tensor.of(FloatFormat.FP16, Shape.of(2), Float.NaN, 0f)).headroom())
        .isNaN();
    assertThat(TensorStats.of(Tensor.of(FloatFormat.FP16, Shape.of(2), Float.NaN, 2f)).headroom())
        .isCloseTo(Math.log10(65504 / 2.0) / log2, within(1e-12));
  }

  @Test
  void ifRoundedToFp16ShowsWhatFp16WouldLose() {
    Tensor t = Tensor.of(FloatFormat.FP32, Shape.of(4), 70000f, 1e-8f, 1e-6f, 1f);
    TensorStats s = TensorStats.ifRoundedTo(t, FloatFormat.FP16);
    assertThat(s.format()).isEqualTo(FloatFormat.FP16);
    assertThat(s.overflow()).isEqualTo(1);
    assertThat(s.underflow()).isEqualTo(1);
    assertThat(s.subnormal()).isEqualTo(1); // 1e-6 < 2^-14
    assertThat(s.unroundedMaxAbs()).isEqualTo(70000.0);
    TensorStats bf = TensorStats.ifRoundedTo(t, FloatFormat.BF16);
    assertThat(bf.overflow()).isZero();
    assertThat(bf.underflow()).isZero();
    assertThat(bf.subnormal()).isZero();
  }

  @Test
  void mergeAddsCountsAndCombinesExtremes() {
    TensorStats a = TensorStats.of(Tensor.of(FloatFormat.FP16, Shape.of(3), 2f, 0f, 1e-6f));
    TensorStats b = TensorStats.of(Tensor.of(FloatFormat.FP16, Shape.of(2), -300f, Float.NaN));
    TensorStats m = a.merge(b);
    assertThat(m.count()).isEqualTo(5);
    assertThat(m.maxAbs()).isEqualTo(300.0);
    assertThat(m.minAbsNonZero()).isEqualTo(Float.float16ToFloat(Float.floatToFloat16(1e-6f)));
    assertThat(m.nan()).isEqualTo(1);
    assertThat(m.zero()).isEqualTo(1);
    assertThat(m.subnormal()).isEqualTo(1);
    assertThatThrownBy(() -> a.merge(TensorStats.of(Tensor.zeros(FloatFormat.FP32, Shape.of(1)))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fp16")
        .hasMessageContaining("fp32");
  }

  @Test
  void unroundedOfTheWrongSizeIsRejected() {
    Tensor out = Tensor.zeros(FloatFormat.FP16, Shape.of(3));
    Tensor u = Tensor.zeros(FloatFormat.FP32, Shape.of(4));
    assertThatThrownBy(() -> TensorStats.of(out, u))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("4")
        .hasMessageContaining("3");
  }

  @Test
  void fp64AndFp32TensorsUseTheirOwnLimits() {
    Tensor t32 = Tensor.of(FloatFormat.FP32, Shape.of(2), Float.MIN_VALUE, Float.MIN_NORMAL);
    TensorStats s32 = TensorStats.of(t32);
    assertThat(s32.subnormal()).isEqualTo(1);
    assertThat(s32.minAbsNonZero()).isEqualTo(Float.MIN_VALUE);
    Tensor t64 = Tensor.zeros(FloatFormat.FP64, Shape.of(2));
    t64.setDouble(0, Double.MIN_VALUE);
    t64.setDouble(1, 1e300);
    TensorStats s64 = TensorStats.of(t64);
    assertThat(s64.subnormal()).isEqualTo(1);
    assertThat(s64.maxAbs()).isEqualTo(1e300);
    assertThat(s64.minAbsNonZero()).isEqualTo(Double.MIN_VALUE);
  }
}
