package io.nanscope.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TraceContext;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeadroomGridTest {

  static void rec(StatsTracer t, String site, String op, Phase phase, float... v) {
    Tensor out = Tensor.of(FloatFormat.FP16, Shape.of(1, v.length), v);
    t.record(new OpRecord(new Site(site), op, phase, -1, List.of(), out, null));
  }

  static double log2(double x) {
    return Math.log(x) / Math.log(2);
  }

  @Test
  void layoutIsSiteByLayerWithAModelColumnMinOverRepeatsAndMinusInfForNonFinite() {
    StatsTracer t = new StatsTracer(new TraceContext());
    rec(t, "embed_tokens", "embedding", Phase.FORWARD, 1f);
    rec(t, "layers.0.mlp.down_proj", "matmul", Phase.FORWARD, 2f);
    rec(t, "layers.1.mlp.down_proj", "matmul", Phase.FORWARD, 256f);
    rec(
        t,
        "layers.1.mlp.down_proj",
        "matmul",
        Phase.FORWARD,
        1024f); // a second step: the min headroom wins
    rec(t, "layers.1.residual_mlp", "add", Phase.FORWARD, Float.NaN, 1f);
    rec(t, "lm_head", "matmul", Phase.FORWARD, 8f);
    rec(t, "layers.1.mlp.down_proj", "matmul.dx", Phase.BACKWARD, 0.5f);
    rec(t, "layers.1.mlp.down_proj", "matmul.dw", Phase.BACKWARD, 0.25f);
    HeadroomGrid g = HeadroomGrid.of(t.rows(), Phase.FORWARD, FloatFormat.FP16);
    assertThat(g.rowLabels())
        .containsExactly("embed_tokens", "mlp.down_proj", "residual_mlp", "lm_head");
    assertThat(g.colLabels()).containsExactly("L0", "L1", HeadroomGrid.MODEL_COLUMN);
    double[][] v = g.values();
    assertThat(v[0][0]).isNaN();
    assertThat(v[0][2]).isCloseTo(log2(65504 / 1.0), within(1e-12));
    assertThat(v[1][0]).isCloseTo(log2(65504 / 2.0), within(1e-12));
    assertThat(v[1][1]).isCloseTo(log2(65504 / 1024.0), within(1e-12));
    assertThat(v[1][2]).isNaN();
    assertThat(v[2][1]).isEqualTo(Double.NEGATIVE_INFINITY);
    assertThat(v[3][2]).isCloseTo(log2(65504 / 8.0), within(1e-12));
    assertThat(g.minFinite()).isCloseTo(log2(65504 / 1024.0), within(1e-12));
    Heatmap h = g.heatmap("forward");
    assertThat(h.low()).isZero();
    assertThat(h.high()).isCloseTo(log2(65504), within(1e-12));

    HeadroomGrid back = HeadroomGrid.of(t.rows(), Phase.BACKWARD, FloatFormat.BF16);
    assertThat(back.rowLabels())
        .containsExactly("mlp.down_proj matmul.dx", "mlp.down_proj matmul.dw");
    assertThat(back.colLabels()).containsExactly("L1");
    double bf16Max = FloatFormat.BF16.info().maxFinite();
    assertThat(back.values()[1][0]).isCloseTo(log2(bf16Max / 0.25), within(1e-9));

    assertThatThrownBy(() -> HeadroomGrid.of(t.rows(), Phase.OPTIMIZER, FloatFormat.FP16))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("optimizer");
  }
}
