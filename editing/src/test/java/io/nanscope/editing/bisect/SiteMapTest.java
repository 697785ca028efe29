package io.nanscope.editing.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.keys.OptimiserStateSite;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.PrecisionPolicy;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The site map's update and optimiser-state sites, and when they are candidates. */
class SiteMapTest {

  @Test
  void updateSitesOnlyInEditedLayersAndStateSitesAfterTheHead() {
    List<String> none = SiteMap.sites(3);
    assertThat(none).noneMatch(s -> s.endsWith(".update")).hasSize(1 + 3 * 19 + 2);
    List<String> s = SiteMap.sites(3, List.of(1), List.of("adam.layers.1.mlp.down_proj.weight"));
    assertThat(s).hasSize(none.size() + 2);
    assertThat(s.indexOf("layers.1.mlp.down_proj.update"))
        .isEqualTo(s.indexOf("layers.1.mlp.down_proj") + 1);
    assertThat(s).filteredOn(x -> x.endsWith(".update")).hasSize(1);
    assertThat(s.getLast()).isEqualTo("adam.layers.1.mlp.down_proj.weight");
    assertThat(SiteMap.layer("adam.layers.1.mlp.down_proj.weight")).isEqualTo(-1);
  }

  @Test
  void updateAndStateSitesAreNarrowerOnlyWhileThePolicyLeavesThemInStorage() {
    PrecisionPolicy fp16 = PrecisionPolicy.named("pytorch-fp16");
    String u = "layers.1.mlp.down_proj.update";
    String a = "adam.layers.3.mlp.down_proj.weight";
    assertThat(SiteMap.narrower(fp16, u, FloatFormat.FP32)).isTrue();
    assertThat(SiteMap.narrower(fp16, a, FloatFormat.BF16)).isTrue();
    assertThat(SiteMap.narrower(PrecisionPolicy.named("fp32"), u, FloatFormat.FP32)).isFalse();
    assertThat(SiteMap.narrower(PrecisionPolicy.named("pytorch-bf16"), a, FloatFormat.BF16))
        .isFalse();
    PrecisionPolicy wide =
        PrecisionPolicy.fromMap(
            Map.of(
                "base",
                "pytorch-fp16",
                "sites",
                Map.of(u, Map.of("output", "fp32"), a, Map.of("output", "fp32"))));
    assertThat(SiteMap.narrower(wide, u, FloatFormat.FP32)).isFalse();
    assertThat(SiteMap.narrower(wide, a, FloatFormat.FP32)).isFalse();
  }

  @Test
  void adamsTracedPartsMapToTheirPolicySite() {
    String a = "adam.layers.3.mlp.down_proj.weight";
    for (String part : List.of(".exp_avg", ".exp_avg_sq", ".denom")) {
      assertThat(OptimiserStateSite.policySite(a + part)).isEqualTo(a);
    }
    assertThat(OptimiserStateSite.policySite(a)).isEqualTo(a);
    assertThat(OptimiserStateSite.policySite("layers.3.mlp.down_proj"))
        .isEqualTo("layers.3.mlp.down_proj");
    assertThat(OptimiserStateSite.of("layers.3.mlp.down_proj.weight").name()).isEqualTo(a);
  }
}
