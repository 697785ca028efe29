package io.nanscope.editing.hparams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Values that used to crash or run without bound later are refused when the file is read. */
class HparamsRangesTest {

  private static String base() throws Exception {
    return Files.readString(Path.of("..", "configs", "rome", "stories260K.yaml"));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "v_num_grad_steps: 25|v_num_grad_steps: 0|v_num_grad_steps",
        "v_num_grad_steps: 25|v_num_grad_steps: -1|v_num_grad_steps",
        "v_num_grad_steps: 25|v_num_grad_steps: 1000000000|v_num_grad_steps",
        "kl_factor: 0.0625|kl_factor: .nan|kl_factor",
        "v_weight_decay: 1e-3|v_weight_decay: .nan|v_weight_decay",
        "v_lr: 5e-1|v_lr: -0.5|v_lr",
        "mom2_n_samples: 300|mom2_n_samples: 0|mom2_n_samples",
        "mom2_dtype: \"float32\"|mom2_dtype: int8|mom2_dtype",
        "v_loss_layer: 4|v_loss_layer: -3|v_loss_layer",
        "rewrite_module_tmp: \"model.layers.{}.mlp.down_proj\"|rewrite_module_tmp: model.layers.{}.mlp.x"
            + "|rewrite_module_tmp",
      })
  void outOfRangeValuesAreRefusedWithTheKey(String from, String to, String key) throws Exception {
    String text = base();
    assertThat(text).contains(from);
    String yaml = text.replace(from, to);
    assertThatThrownBy(() -> HyperParamsYaml.parseRome("test.yaml", yaml))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(key);
  }

  @Test
  void duplicateKeysAndHugeTemplatesAreRefused() throws Exception {
    assertThatThrownBy(() -> HyperParamsYaml.parseRome("test.yaml", base() + "\nlayers: [2]\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("layers");
    String huge =
        base()
            .replaceAll(
                "context_template_length_params:.*",
                "context_template_length_params: [[5, 100000]]");
    assertThatThrownBy(() -> HyperParamsYaml.parseRome("test.yaml", huge))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("context_template_length_params");
  }

  @Test
  void aFifoOrDeviceIsRefusedBeforeReading() {
    assertThatThrownBy(() -> HyperParamsYaml.read(Path.of("/dev/urandom")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a regular file");
  }
}
