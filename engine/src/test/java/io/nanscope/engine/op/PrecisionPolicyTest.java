package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.trace.Site;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

class PrecisionPolicyTest {

  private static final FloatFormat FP16 = FloatFormat.FP16, FP32 = FloatFormat.FP32;

  @Test
  void everyBuiltInResolvesEveryOpKind() {
    for (String name : PrecisionPolicy.BUILT_IN) {
      PrecisionPolicy p = PrecisionPolicy.named(name);
      assertThat(p.name()).isEqualTo(name);
      for (OpKind k : OpKind.values()) {
        assertThat(p.of(k)).as("%s %s", name, k).isNotNull();
      }
      assertThat(p.describe()).contains("attention-softmax");
    }
  }

  @Test
  void pytorchFp16MirrorsHfLlama() {
    PrecisionPolicy p = PrecisionPolicy.named("pytorch-fp16");
    assertThat(p.storage()).isEqualTo(FP16);
    assertThat(p.of(OpKind.MATMUL)).isEqualTo(new Precision(FP16, FP32, FP32));
    assertThat(p.of(OpKind.RMSNORM)).isEqualTo(new Precision(FP16, FP32, FP32));
    assertThat(p.of(OpKind.ATTENTION_SOFTMAX)).isEqualTo(new Precision(FP16, FP32, FP32));
    assertThat(p.of(OpKind.ROPE).compute()).isEqualTo(FP16);
    assertThat(p.of(OpKind.LOG_SOFTMAX)).isEqualTo(Precision.FP32);
    assertThat(p.of(OpKind.LOSS)).isEqualTo(Precision.FP32);
    assertThat(PrecisionPolicy.named("naive-fp16").of(OpKind.RMSNORM))
        .isEqualTo(new Precision(FP16, FP32, FP16));
    assertThat(PrecisionPolicy.named("naive-bf16").of(OpKind.LOSS).output())
        .isEqualTo(FloatFormat.BF16);
    assertThat(PrecisionPolicy.named("strict-fp16").of(OpKind.SUM).strict()).isTrue();
    assertThat(PrecisionPolicy.named("pytorch-fp16").of(OpKind.SUM).strict()).isFalse();
  }

  @Test
  void unknownNameListsTheBuiltIns() {
    assertThatThrownBy(() -> PrecisionPolicy.named("fp8"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'fp8'")
        .hasMessageContaining("pytorch-fp16, pytorch-bf16, naive-fp16");
  }

  @Test
  void customPolicyFromMapOverridesKindsAndSites() {
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("name", "keep-down-proj-fp32");
    cfg.put("base", "pytorch-fp16");
    cfg.put("ops", Map.of("rmsnorm", Map.of("compute", "fp16")));
    cfg.put("sites", Map.of("layers.*.mlp.down_proj", Map.of("output", "fp32")));
    PrecisionPolicy p = PrecisionPolicy.fromMap(cfg);
    assertThat(p.name()).isEqualTo("keep-down-proj-fp32");
    assertThat(p.of(OpKind.RMSNORM)).isEqualTo(new Precision(FP16, FP32, FP16));
    assertThat(p.of(OpKind.MATMUL, Site.of("layers", 5, "mlp", "down_proj")).output())
        .isEqualTo(FP32);
    assertThat(p.of(OpKind.MATMUL, Site.of("layers", 5, "mlp", "up_proj")).output())
        .isEqualTo(FP16);
    // '*' stays within one dotted segment
    assertThat(p.of(OpKind.MATMUL, Site.of("model", "layers", 5, "mlp", "down_proj")).output())
        .isEqualTo(FP16);
  }

  @Test
  void customPolicyFromProperties() {
    Properties props = new Properties();
    props.setProperty("base", "fp32");
    props.setProperty("storage", "bf16");
    props.setProperty("default.output", "bf16");
    props.setProperty("ops.loss.output", "fp32");
    props.setProperty("sites.\"**.softmax\".compute", "bf16");
    PrecisionPolicy p = PrecisionPolicy.fromProperties(props);
    assertThat(p.storage()).isEqualTo(FloatFormat.BF16);
    assertThat(p.of(OpKind.MATMUL)).isEqualTo(new Precision(FloatFormat.BF16, FP32, FP32));
    assertThat(p.of(OpKind.LOSS).output()).isEqualTo(FP32);
    assertThat(p.of(OpKind.SOFTMAX, Site.of("layers", 0, "self_attn", "softmax")).compute())
        .isEqualTo(FloatFormat.BF16);
  }

  @Test
  void badConfigsSayWhatIsExpected() {
    assertThatThrownBy(() -> PrecisionPolicy.fromMap(Map.of("opz", Map.of())))
        .hasMessageContaining("unknown key 'opz'");
    assertThatThrownBy(() -> PrecisionPolicy.fromMap(Map.of("ops", Map.of("gemm", Map.of()))))
        .hasMessageContaining("unknown op kind 'gemm'")
        .hasMessageContaining("matmul");
    assertThatThrownBy(() -> PrecisionPolicy.fromMap(Map.of("default", Map.of("output", "fp12"))))
        .hasMessageContaining("unknown format 'fp12'");
    assertThatThrownBy(() -> PrecisionPolicy.fromMap(Map.of("default", Map.of("mode", "fp16"))))
        .hasMessageContaining("expected output, accumulate, compute, rounding");
  }

  private static Map<String, Object> yaml(String name) throws Exception {
    Path p = Path.of("..", "configs", "precision", name);
    assertThat(p).as("run from the engine module directory").exists();
    ObjectMapper m = YAMLMapper.builder().build();
    @SuppressWarnings("unchecked")
    Map<String, Object> map = m.readValue(Files.readString(p), Map.class);
    return map;
  }

  @Test
  void yamlFilesOfTheBuiltInsEqualTheBuiltIns() throws Exception {
    for (String name : new String[] {"pytorch-fp16", "naive-fp16", "strict-fp16"}) {
      PrecisionPolicy fromYaml = PrecisionPolicy.fromMap(yaml(name + ".yaml"));
      PrecisionPolicy builtIn = PrecisionPolicy.named(name);
      assertThat(fromYaml.storage()).isEqualTo(builtIn.storage());
      for (OpKind k : OpKind.values()) {
        assertThat(fromYaml.of(k)).as("%s %s", name, k).isEqualTo(builtIn.of(k));
      }
    }
  }

  @Test
  void customYamlKeepsDownProjInFp32() throws Exception {
    PrecisionPolicy p = PrecisionPolicy.fromMap(yaml("fp16-down-proj-fp32.yaml"));
    assertThat(p.of(OpKind.MATMUL, Site.of("layers", 31, "mlp", "down_proj")))
        .isEqualTo(new Precision(FP32, FP32, FP32));
    assertThat(p.of(OpKind.MATMUL, Site.of("layers", 31, "mlp", "gate_proj")))
        .isEqualTo(new Precision(FP16, FP32, FP32));
    assertThat(p.describe()).contains("layers.*.mlp.down_proj");
  }
}
