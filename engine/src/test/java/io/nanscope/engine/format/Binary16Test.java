package io.nanscope.engine.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.lanes.Binary16;
import io.nanscope.engine.lanes.Lanes;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bit kernels' thresholds (engine.lanes.Binary16) against FloatFormat's own derivation from the
 * same widths: minNormal, the overflow point maxFinite + ulp/2, infinity and the canonical NaN.
 * Exact equality: these are bit patterns, not approximations.
 */
class Binary16Test {

  private static Binary16 layout(String name) {
    return name.equals("fp16") ? Binary16.FP16 : Binary16.BF16;
  }

  @ParameterizedTest
  @ValueSource(strings = {"fp16", "bf16"})
  void thresholdsAgreeWithFloatFormat(String name) {
    FloatFormat f = FloatFormat.parse(name);
    Binary16 b = layout(name);
    assertThat(b.matches(f)).isTrue();
    assertThat(FloatFormat.custom(b.precisionBits(), b.exponentBits())).isSameAs(f);
    assertThat((double) Float.intBitsToFloat(b.minNormalBits())).isEqualTo(f.info().minNormal());
    // the float whose ulp (2^-23 of it) is the format's minSubnormal
    assertThat((double) Float.intBitsToFloat(b.subnormalRounderBits()))
        .isEqualTo(f.info().minSubnormal() * 0x1p23);
    double max = f.info().maxFinite();
    double ulpOfMax = Math.scalb(1.0, Math.getExponent(max) - (f.info().precisionBits() - 1));
    double overflow = max + ulpOfMax / 2;
    if (overflow <= Float.MAX_VALUE) {
      assertThat((double) Float.intBitsToFloat(b.overflowBits())).isEqualTo(overflow);
      // the point itself overflows, the float below it does not
      float at = Float.intBitsToFloat(b.overflowBits());
      assertThat(f.round(at)).isInfinite();
      assertThat((double) f.round(Math.nextDown(at))).isEqualTo(max);
    } else {
      assertThat(b.overflowBits()).isEqualTo(0x7F800000);
    }
    assertThat(b.quietNaN()).isEqualTo(f.encode16(Float.NaN));
    assertThat((short) b.infBits()).isEqualTo(f.encode16(Float.POSITIVE_INFINITY));
    assertThat(b.rebias()).isEqualTo((127 - ((1 << (f.info().exponentBits() - 1)) - 1)) << 23);
  }

  @ParameterizedTest
  @ValueSource(strings = {"fp32", "fp8-e4m3", "tf32"})
  void laneDecodeRefusesOtherFormats(String name) {
    FloatFormat f = FloatFormat.parse(name);
    MemorySegment seg = MemorySegment.ofArray(new short[8]);
    assertThatThrownBy(() -> Lanes.decode16(f, seg, 0, new float[8], 0, 8))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("16-bit decode needs FP16 or BF16 storage, got " + name);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 17})
  void aLayoutIsSixteenBits(int p) {
    assertThatThrownBy(() -> new Binary16("x", p, 5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("p + e = 16");
  }
}
