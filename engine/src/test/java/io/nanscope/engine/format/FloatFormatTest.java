package io.nanscope.engine.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FloatFormatTest {

  // ------------------------------------------------------------------ FormatInfo, by hand

  @Test
  void infoMatchesPublishedLimits() {
    // numbers from IEEE 754-2019 Table 3.5, the OCP FP8 v1.0 spec and torch.finfo, typed by hand
    assertInfo(
        FloatFormat.FP64,
        64,
        53,
        11,
        Double.MAX_VALUE,
        0x1p-1022,
        Double.MIN_VALUE,
        0x1p-52,
        true,
        8);
    assertInfo(
        FloatFormat.FP32,
        32,
        24,
        8,
        3.4028234663852886e38,
        1.1754943508222875e-38,
        1.401298464324817e-45,
        1.1920928955078125e-7,
        true,
        4);
    assertInfo(
        FloatFormat.TF32,
        19,
        11,
        8,
        3.4011621342146535e38,
        1.1754943508222875e-38,
        1.1479437019748901e-41,
        9.765625e-4,
        true,
        4);
    assertInfo(
        FloatFormat.BF16,
        16,
        8,
        8,
        3.3895313892515355e38,
        1.1754943508222875e-38,
        9.183549615799121e-41,
        0.0078125,
        true,
        2);
    assertInfo(
        FloatFormat.FP16,
        16,
        11,
        5,
        65504,
        6.103515625e-5,
        5.960464477539063e-8,
        9.765625e-4,
        true,
        2);
    assertInfo(FloatFormat.FP8_E5M2, 8, 3, 5, 57344, 0x1p-14, 0x1p-16, 0.25, true, 1);
    assertInfo(FloatFormat.FP8_E4M3, 8, 4, 4, 448, 0x1p-6, 0x1p-9, 0.125, false, 1);
    assertInfo(FloatFormat.custom(5, 3), 8, 5, 3, 15.5, 0.25, 0x1p-6, 0.0625, true, 1);
  }

  private static void assertInfo(
      FloatFormat f,
      int bits,
      int p,
      int e,
      double max,
      double minNormal,
      double minSub,
      double ulpOfOne,
      boolean inf,
      int bytes) {
    assertThat(f.info())
        .isEqualTo(new FormatInfo(bits, p, e, max, minNormal, minSub, ulpOfOne, inf));
    assertThat(f.bytes()).isEqualTo(bytes);
  }

  @Test
  void parseAcceptsNamesAliasesAndCustom() {
    assertThat(FloatFormat.parse("FP16")).isSameAs(FloatFormat.FP16);
    assertThat(FloatFormat.parse("half")).isSameAs(FloatFormat.FP16);
    assertThat(FloatFormat.parse("float16")).isSameAs(FloatFormat.FP16);
    assertThat(FloatFormat.parse("bfloat16")).isSameAs(FloatFormat.BF16);
    assertThat(FloatFormat.parse("e4m3")).isSameAs(FloatFormat.FP8_E4M3);
    assertThat(FloatFormat.parse("fp8_e5m2")).isSameAs(FloatFormat.FP8_E5M2);
    assertThat(FloatFormat.parse(" tf32 ")).isSameAs(FloatFormat.TF32);
    assertThat(FloatFormat.parse("double")).isSameAs(FloatFormat.FP64);
    assertThat(FloatFormat.parse("custom:p=11,e=5")).isSameAs(FloatFormat.FP16);
    FloatFormat c = FloatFormat.parse("custom:e=3, p=5");
    assertThat(c.name()).isEqualTo("custom:p=5,e=3");
    assertThat(c).isEqualTo(FloatFormat.custom(5, 3));
    for (FloatFormat f : FloatFormat.builtIns()) {
      assertThat(FloatFormat.parse(f.name())).isSameAs(f);
    }
    for (String bad : new String[] {"custom:p=1,e=5", "custom:p=54,e=11", "custom:p=40,e=30"}) {
      assertThatThrownBy(() -> FloatFormat.parse(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("2 <= p <= 53");
    }
    for (String bad : new String[] {"fp12", "", "custom:p=11", "custom:q=3,e=4", null}) {
      assertThatThrownBy(() -> FloatFormat.parse(bad))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("fp16")
          .hasMessageContaining("fp8-e4m3")
          .hasMessageContaining("custom:p=");
    }
  }

  @Test
  void sixteenBitOnlyMethodsSayWhatToUse() {
    assertThatThrownBy(() -> FloatFormat.FP32.encode16(1f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fp16 or bf16");
    assertThatThrownBy(() -> FloatFormat.FP16.encode8(1f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fp8-e4m3");
    assertThatThrownBy(() -> FloatFormat.custom(12, 11).round(1f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("round(double");
  }

  // ------------------------------------------------------------------ all 65,536 patterns

  /**
   * Decode, re-encode and classify every FP16 and BF16 pattern; decode is checked against the JDK
   * (FP16) and the BF16 definition (top half of a float).
   */
  @ParameterizedTest
  @ValueSource(strings = {"fp16", "bf16"})
  void allSixteenBitPatterns(String name) {
    FloatFormat f = FloatFormat.parse(name);
    boolean fp16 = f == FloatFormat.FP16;
    int stored = fp16 ? 10 : 7;
    int expMask = fp16 ? 0x7C00 : 0x7F80;
    for (int b = 0; b < 0x10000; b++) {
      short bits = (short) b;
      float v = f.decode16(bits);
      float want = fp16 ? Float.float16ToFloat(bits) : Float.intBitsToFloat(b << 16);
      int exp = b & expMask;
      int mant = b & ((1 << stored) - 1);
      String at = String.format("%s 0x%04x", name, b);
      if (exp == expMask && mant != 0) {
        assertThat(v).as(at).isNaN();
        assertThat(f.encode16(v)).as(at).isEqualTo((short) (fp16 ? 0x7E00 : 0x7FC0));
        assertThat(f.classify(v)).isEqualTo(ValueClass.NAN);
        assertThat(f.decodeBits(b)).isNaN();
        continue;
      }
      assertThat(Float.floatToRawIntBits(v)).as(at).isEqualTo(Float.floatToRawIntBits(want));
      assertThat(Double.doubleToRawLongBits(f.decodeBits(b)))
          .as(at)
          .isEqualTo(Double.doubleToRawLongBits(want));
      assertThat(f.encode16(v)).as(at).isEqualTo(bits);
      assertThat(f.encodeBits(v)).as(at).isEqualTo(b);
      assertThat(Float.floatToRawIntBits(f.round(v))).as(at).isEqualTo(Float.floatToRawIntBits(v));
      ValueClass want_class =
          exp == expMask
              ? ValueClass.INFINITE
              : exp != 0 ? ValueClass.NORMAL : mant == 0 ? ValueClass.ZERO : ValueClass.SUBNORMAL;
      assertThat(f.classify(v)).as(at).isEqualTo(want_class);
    }
  }

  // ------------------------------------------------------------------ FP8, by hand

  /**
   * The 256 patterns of each FP8 format from the OCP v1.0 definition: value = (−1)^s · 2^(E−bias) ·
   * (1 + M/2^m) for E > 0, (−1)^s · 2^(1−bias) · M/2^m for E = 0; E5M2 reserves E = 31 for inf (M =
   * 0) and NaN, E4M3FN only S.1111.111 for NaN.
   */
  @ParameterizedTest
  @ValueSource(strings = {"fp8-e4m3", "fp8-e5m2"})
  void allFp8PatternsMatchTheDefinition(String name) {
    FloatFormat f = FloatFormat.parse(name);
    boolean e4m3 = f == FloatFormat.FP8_E4M3;
    int m = e4m3 ? 3 : 2;
    int bias = e4m3 ? 7 : 15;
    int eMax = e4m3 ? 15 : 31;
    int finite = 0;
    for (int b = 0; b < 256; b++) {
      int s = b >> 7;
      int e = (b >> m) & eMax;
      int mant = b & ((1 << m) - 1);
      double want;
      if (e4m3 && e == 15 && mant == 7) {
        want = Double.NaN;
      } else if (!e4m3 && e == 31) {
        want = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
      } else if (e == 0) {
        want = Math.pow(2, 1 - bias) * mant / (1 << m);
      } else {
        want = Math.pow(2, e - bias) * (1 + (double) mant / (1 << m));
      }
      want = s == 1 ? -want : want;
      float got = f.decode8((byte) b);
      String at = String.format("%s 0x%02x", name, b);
      if (Double.isNaN(want)) {
        assertThat(got).as(at).isNaN();
        assertThat(f.encode8(got)).as(at).isEqualTo((byte) (e4m3 ? 0x7F : 0x7E));
        continue;
      }
      finite += Double.isFinite(want) ? 1 : 0;
      assertThat((double) got).as(at).isEqualTo(want);
      assertThat(Double.doubleToRawLongBits(got))
          .as(at)
          .isEqualTo(Double.doubleToRawLongBits(want));
      assertThat(f.encode8(got)).as(at).isEqualTo((byte) b);
    }
    assertThat(finite).isEqualTo(e4m3 ? 254 : 248);
    // hand-checked anchors
    if (e4m3) {
      assertThat(f.decode8((byte) 0x7E)).isEqualTo(448f);
      assertThat(f.decode8((byte) 0x38)).isEqualTo(1f);
      assertThat(f.decode8((byte) 0x01)).isEqualTo(0x1p-9f);
      assertThat(f.decode8((byte) 0x08)).isEqualTo(0x1p-6f);
    } else {
      assertThat(f.decode8((byte) 0x7B)).isEqualTo(57344f);
      assertThat(f.decode8((byte) 0x7C)).isEqualTo(Float.POSITIVE_INFINITY);
      assertThat(f.decode8((byte) 0x3C)).isEqualTo(1f);
      assertThat(f.decode8((byte) 0x01)).isEqualTo(0x1p-16f);
    }
  }

  @Test
  void fp8OverflowRules() {
    FloatFormat e4 = FloatFormat.FP8_E4M3;
    RoundingSpec sat = RoundingSpec.NEAREST_EVEN.withOverflow(Overflow.SATURATE);
    assertThat(e4.round(464f)).isEqualTo(448f); // tie between 448 (M=110) and 480 (NaN code): even
    assertThat(e4.round(464.01f)).isNaN(); // OCP E4M3FN: no infinity, IEEE overflow gives NaN
    assertThat(e4.round(464.01f, sat)).isEqualTo(448f);
    assertThat(e4.round(Float.NEGATIVE_INFINITY)).isNaN();
    assertThat(e4.round(Float.NEGATIVE_INFINITY, sat)).isEqualTo(-448f);
    assertThat(e4.round(1000f, RoundingSpec.of(Rounding.TOWARD_ZERO))).isEqualTo(448f);
    assertThat(e4.encode8(-1e9f, sat, 0)).isEqualTo((byte) 0xFE);
    FloatFormat e5 = FloatFormat.FP8_E5M2;
    assertThat(e5.round(61439f)).isEqualTo(57344f);
    assertThat(e5.round(61440f)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(e5.encode8(61440f)).isEqualTo((byte) 0x7C);
  }

  // ------------------------------------------------------------------ flags and classes

  @Test
  void roundWithFlagsReportsOverflowUnderflowAndClass() {
    FloatFormat h = FloatFormat.FP16;
    assertFlags(h.roundWithFlags(65519), 65504, 0x7BFF, ValueClass.NORMAL, false, false);
    assertFlags(
        h.roundWithFlags(65520),
        Double.POSITIVE_INFINITY,
        0x7C00,
        ValueClass.INFINITE,
        true,
        false);
    assertFlags(
        h.roundWithFlags(-1e6), Double.NEGATIVE_INFINITY, 0xFC00, ValueClass.INFINITE, true, false);
    assertFlags(h.roundWithFlags(1e-8), 0, 0x0000, ValueClass.ZERO, false, true);
    assertFlags(h.roundWithFlags(-1e-8), -0.0, 0x8000, ValueClass.ZERO, false, true);
    assertFlags(
        h.roundWithFlags(1e-5), 1.0013580322265625e-5, 0x00A8, ValueClass.SUBNORMAL, false, false);
    assertFlags(
        h.roundWithFlags(255.875 * 261.75),
        Double.POSITIVE_INFINITY,
        0x7C00,
        ValueClass.INFINITE,
        true,
        false);
    assertFlags(
        h.roundWithFlags(Double.POSITIVE_INFINITY),
        Double.POSITIVE_INFINITY,
        0x7C00,
        ValueClass.INFINITE,
        false,
        false);
    assertFlags(h.roundWithFlags(Double.NaN), Double.NaN, 0x7E00, ValueClass.NAN, false, false);
    assertFlags(h.roundWithFlags(0.0), 0, 0, ValueClass.ZERO, false, false);
    // toward zero: 65519 is no overflow (65504 exact-range result), 70000 is (clamped by the mode)
    RoundingSpec rz = RoundingSpec.of(Rounding.TOWARD_ZERO);
    assertFlags(h.roundWithFlags(65519, rz, 0), 65504, 0x7BFF, ValueClass.NORMAL, false, false);
    assertFlags(h.roundWithFlags(70000, rz, 0), 65504, 0x7BFF, ValueClass.NORMAL, true, false);
    RoundingSpec sat = RoundingSpec.NEAREST_EVEN.withOverflow(Overflow.SATURATE);
    assertFlags(h.roundWithFlags(-65520, sat, 0), -65504, 0xFBFF, ValueClass.NORMAL, true, false);
    RoundingSpec ftz = RoundingSpec.NEAREST_EVEN.withSubnormals(Subnormals.FLUSH);
    assertFlags(h.roundWithFlags(1e-5, ftz, 0), 0, 0, ValueClass.ZERO, false, true);
    assertFlags(
        FloatFormat.FP8_E4M3.roundWithFlags(500), Double.NaN, 0x7F, ValueClass.NAN, true, false);
  }

  private static void assertFlags(
      RoundResult r, double value, long bits, ValueClass c, boolean overflow, boolean underflow) {
    if (Double.isNaN(value)) {
      assertThat(r.value()).isNaN();
    } else {
      assertThat(Double.doubleToRawLongBits(r.value()))
          .as("%s", r)
          .isEqualTo(Double.doubleToRawLongBits(value));
    }
    assertThat(r.bits()).as("%s", r).isEqualTo(bits);
    assertThat(r.valueClass()).as("%s", r).isEqualTo(c);
    assertThat(r.overflow()).as("overflow %s", r).isEqualTo(overflow);
    assertThat(r.underflow()).as("underflow %s", r).isEqualTo(underflow);
  }

  @Test
  void classifyUsesTheFormatsMinNormal() {
    assertThat(FloatFormat.FP16.classify(1e-5)).isEqualTo(ValueClass.SUBNORMAL);
    assertThat(FloatFormat.BF16.classify(1e-5)).isEqualTo(ValueClass.NORMAL);
    assertThat(FloatFormat.FP32.classify(-0.0)).isEqualTo(ValueClass.ZERO);
    assertThat(FloatFormat.FP32.classify(Float.MIN_VALUE)).isEqualTo(ValueClass.SUBNORMAL);
  }

  // ------------------------------------------------------------------ bulk == scalar

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 7, 31, 33, 4095, 100_003})
  void bulkEqualsScalarForEveryFormatAndSpec(int n) {
    SplittableRandom rnd = new SplittableRandom(n);
    float[] src = new float[n + 5];
    for (int i = 0; i < src.length; i++) {
      src[i] =
          rnd.nextBoolean()
              ? Float.intBitsToFloat(rnd.nextInt())
              : (float) Math.scalb(rnd.nextDouble(-2, 2), rnd.nextInt(-30, 20));
    }
    RoundingSpec[] specs = {
      RoundingSpec.NEAREST_EVEN,
      RoundingSpec.of(Rounding.UP),
      RoundingSpec.stochastic(9),
      RoundingSpec.of(Rounding.DOWN)
          .withOverflow(Overflow.SATURATE)
          .withSubnormals(Subnormals.FLUSH)
    };
    for (FloatFormat f :
        new FloatFormat[] {
          FloatFormat.FP16,
          FloatFormat.BF16,
          FloatFormat.TF32,
          FloatFormat.FP8_E4M3,
          FloatFormat.FP32
        }) {
      for (RoundingSpec spec : specs) {
        float[] a = src.clone();
        f.roundInPlace(a, 2, 2 + n, spec);
        try (Arena arena = Arena.ofConfined()) {
          MemorySegment seg = arena.allocate(4L * src.length);
          MemorySegment.copy(src, 0, seg, ValueLayout.JAVA_FLOAT, 0, src.length);
          f.roundInPlace(seg, 8, n, spec);
          for (int i = 0; i < src.length; i++) {
            float want = i >= 2 && i < 2 + n ? f.round(src[i], spec, i) : src[i];
            String at = f + " " + spec + " i=" + i + " x=" + src[i];
            assertThat(Float.floatToRawIntBits(a[i]))
                .as(at)
                .isEqualTo(Float.floatToRawIntBits(want));
            assertThat(Float.floatToRawIntBits(seg.getAtIndex(ValueLayout.JAVA_FLOAT, i)))
                .as(at)
                .isEqualTo(Float.floatToRawIntBits(want));
          }
        }
      }
    }
    for (FloatFormat f : new FloatFormat[] {FloatFormat.FP16, FloatFormat.BF16}) {
      short[] enc = new short[n + 1];
      float[] dec = new float[n + 1];
      f.encode16(src, 1, enc, 1, n);
      f.decode16(enc, 1, dec, 1, n);
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment seg = arena.allocate(2L * n + 2);
        f.encode16(src, 1, seg, 2, n);
        float[] dec2 = new float[n + 1];
        f.decode16(seg, 2, dec2, 1, n);
        for (int i = 1; i <= n; i++) {
          assertThat(enc[i]).isEqualTo(f.encode16(src[i]));
          assertThat(seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i)).isEqualTo(enc[i]);
          assertThat(Float.floatToRawIntBits(dec[i]))
              .isEqualTo(Float.floatToRawIntBits(f.decode16(enc[i])));
          assertThat(Float.floatToRawIntBits(dec2[i])).isEqualTo(Float.floatToRawIntBits(dec[i]));
        }
      }
    }
  }

  @Test
  void bulkChecksBounds() {
    assertThatThrownBy(() -> FloatFormat.FP16.roundInPlace(new float[4], 2, 5))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> FloatFormat.BF16.encode16(new float[4], 0, new short[3], 0, 4))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  // ------------------------------------------------------------------ stochastic rounding

  @Test
  void stochasticIsReproducibleBySeed() {
    float[] src = new float[4096];
    SplittableRandom rnd = new SplittableRandom(1);
    for (int i = 0; i < src.length; i++) {
      src[i] = (float) rnd.nextDouble(-100, 100);
    }
    float[] a = src.clone();
    float[] b = src.clone();
    float[] c = src.clone();
    FloatFormat.FP16.roundInPlace(a, 0, a.length, RoundingSpec.stochastic(7));
    FloatFormat.FP16.roundInPlace(b, 0, b.length, RoundingSpec.stochastic(7));
    FloatFormat.FP16.roundInPlace(c, 0, c.length, RoundingSpec.stochastic(8));
    assertThat(a).isEqualTo(b);
    assertThat(a).isNotEqualTo(c);
    // the draw depends on (seed, index) only, not on the range a call covers
    float[] d = src.clone();
    FloatFormat.FP16.roundInPlace(d, 0, 1000, RoundingSpec.stochastic(7));
    FloatFormat.FP16.roundInPlace(d, 1000, d.length, RoundingSpec.stochastic(7));
    assertThat(d).isEqualTo(a);
  }

  /**
   * Mean error ≈ 0: each error e_i lies in (−ulp, ulp) with E[e_i] = 0 and Var ≤ ulp²/4, so the
   * mean of N = 2^20 independent draws has σ ≤ ulp / (2·2^10); we allow 6σ = 0.003 ulp. The same
   * inputs rounded to nearest-even show the bias SR removes.
   */
  @Test
  void stochasticIsUnbiased() {
    int n = 1 << 20;
    FloatFormat f = FloatFormat.BF16;
    RoundingSpec sr = RoundingSpec.stochastic(2026);
    // one input 0.3 ulp above 1: P(up) must be 0.3
    double x = 1 + 0.3 * 0x1p-7;
    long ups = 0;
    for (int i = 0; i < n; i++) {
      ups += f.round(x, sr, i) > 1 ? 1 : 0;
    }
    double sigma = Math.sqrt(0.3 * 0.7 / n);
    assertThat((double) ups / n).isCloseTo(0.3, org.assertj.core.data.Offset.offset(6 * sigma));
    assertThat(f.round(x)).isEqualTo(1.0); // nearest-even always rounds down: bias -0.3 ulp

    // random inputs across binades: mean error in ulps
    SplittableRandom rnd = new SplittableRandom(3);
    double sumSr = 0;
    double sumRn = 0;
    for (int i = 0; i < n; i++) {
      double v =
          Math.scalb(
              rnd.nextDouble(1, 1 + 0x1p-7 * 0.25),
              rnd.nextInt(-20, 20)); // always < 1/4 ulp above a value of the format
      double ulp = Math.ulp((float) f.round(v)) * 65536.0; // bf16 ulp = float ulp · 2^16
      sumSr += (f.round(v, sr, i) - v) / ulp;
      sumRn += (f.round(v) - v) / ulp;
    }
    assertThat(Math.abs(sumSr / n)).isLessThan(6 * 0.5 / Math.sqrt(n));
    assertThat(sumRn / n).isLessThan(-0.1); // RNE here always rounds down
  }
}
