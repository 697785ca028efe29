package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Floor headroom against values whose binade is known by construction (powers of two, and FP16's
 * limits 2^-24 and 2^-14 from the JDK's {@code Float.float16ToFloat}), and the flushed/subnormal
 * shares counted by hand.
 */
class FloorHeadroomTest {

  static final FloatFormat H = FloatFormat.FP16;

  @Test
  void fp16LimitsAreTheJdksSmallestSubnormalAndNormal() {
    assertThat(H.info().minSubnormal()).isEqualTo(Float.float16ToFloat((short) 0x0001));
    assertThat(H.info().minNormal()).isEqualTo(Float.float16ToFloat((short) 0x0400));
  }

  /**
   * Stored (2^-20, 1, 0, 2^-24): min|x|>0 = 2^-24, so 0 binades above the smallest subnormal and
   * -10 below the smallest normal; 2^-20 and 2^-24 are subnormal: 2 of 3 non-zero values.
   */
  @Test
  void storedFp16Values() {
    Tensor t =
        Tensor.of(
            H, Shape.of(4), (float) Math.scalb(1.0, -20), 1f, 0f, (float) Math.scalb(1.0, -24));
    FloorHeadroom f = FloorHeadroom.of(TensorStats.of(t), H);
    assertThat(f.toSubnormal()).isEqualTo(0.0, within(1e-12));
    assertThat(f.toNormal()).isEqualTo(-10.0, within(1e-12));
    assertThat(f.subnormal()).isEqualTo(2);
    assertThat(f.nonZero()).isEqualTo(3);
    assertThat(f.subnormalPercent()).isEqualTo(200.0 / 3, within(1e-9));
    assertThat(f.flushed()).isEqualTo(-1); // no unrounded output: unknown
    assertThat(f.flushedPercent()).isNaN();
  }

  /**
   * Unrounded (1e-9, 1, 0, 2^-24) rounds to FP16 (0, 1, 0, 2^-24): 1e-9 is below half of 2^-24 and
   * flushes; 3 values were non-zero before rounding, 1 of them flushed.
   */
  @Test
  void flushedShareFromTheUnroundedOutput() {
    float[] u = {1e-9f, 1f, 0f, (float) Math.scalb(1.0, -24)};
    Tensor unrounded = Tensor.of(FloatFormat.FP32, Shape.of(4), u);
    Tensor out = unrounded.to(H);
    FloorHeadroom f = FloorHeadroom.of(TensorStats.of(out, unrounded), H);
    assertThat(f.flushed()).isEqualTo(1);
    assertThat(f.nonZero()).isEqualTo(3);
    assertThat(f.flushedPercent()).isEqualTo(100.0 / 3, within(1e-9));
  }

  /**
   * An FP32 site below FP16's range: 2^-30 is 6 binades under 2^-24; a zero tensor has no floor.
   */
  @Test
  void fp32ValuesBelowFp16sRangeAndAllZeros() {
    Tensor t = Tensor.of(FloatFormat.FP32, Shape.of(2), (float) Math.scalb(1.0, -30), 2f);
    FloorHeadroom f = FloorHeadroom.of(TensorStats.of(t), H);
    assertThat(f.toSubnormal()).isEqualTo(-6.0, within(1e-12));
    assertThat(f.toNormal()).isEqualTo(-16.0, within(1e-12));
    FloorHeadroom z = FloorHeadroom.of(TensorStats.of(Tensor.zeros(H, Shape.of(3))), H);
    assertThat(z.toSubnormal()).isNaN();
    assertThat(z.nonZero()).isZero();
  }

  /** Rows that flushed values come first, then the smallest floor; all-zero rows are left out. */
  @Test
  void tableOrdersFlushedThenNearestTheFloor() {
    TraceContext c = new TraceContext();
    float[] u = {1e-9f, 1e-9f, 1f};
    Tensor unrounded = Tensor.of(FloatFormat.FP32, Shape.of(3), u);
    SiteStats flushing = row(c, "layers.0.mlp.act", TensorStats.of(unrounded.to(H), unrounded));
    SiteStats low =
        row(
            c,
            "layers.1.mlp.act",
            TensorStats.of(Tensor.of(H, Shape.of(1), (float) Math.scalb(1.0, -20))));
    SiteStats high = row(c, "layers.2.mlp.act", TensorStats.of(Tensor.of(H, Shape.of(1), 1f)));
    SiteStats zeros = row(c, "layers.3.mlp.act", TensorStats.of(Tensor.zeros(H, Shape.of(2))));
    List<SiteStats> nearest = FloorTable.nearest(List.of(high, zeros, low, flushing), H, 10);
    assertThat(nearest).containsExactly(flushing, low, high);
    String table = FloorTable.render(nearest, H);
    assertThat(table.lines().toList()).hasSize(5);
    assertThat(table.lines().toList().getFirst())
        .contains("floor fp16 subnormal")
        .contains("flushed %");
    assertThat(table.lines().toList().get(2)).contains("66.7"); // 2 of 3 non-zero flushed
    assertThat(table.lines().toList().get(3)).contains("4.00").contains("-6.00");
  }

  static SiteStats row(TraceContext c, String site, TensorStats s) {
    OpLocation at = new OpLocation(0, c.snapshot(), Phase.BACKWARD, new Site(site), "silu", -1);
    return new SiteStats(at, 1, s);
  }
}
