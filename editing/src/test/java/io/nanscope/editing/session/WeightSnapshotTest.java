package io.nanscope.editing.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.editing.RepoPaths;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.weights.WeightNames;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class WeightSnapshotTest {

  private static final Path MODEL = RepoPaths.inRepo("models/stories260K");

  private static Tensor down(LlamaModel m, int layer) {
    return m.weights().get(layer, WeightNames.Layer.W_DOWN);
  }

  private static Tensor changed(Tensor w, double add) {
    Tensor t = w.copy();
    for (long i = 0; i < t.size(); i += 7) {
      t.setDouble(i, w.getDouble(i) + add);
    }
    return t;
  }

  @Test
  void writeThenRestoreGivesBackEveryBit() throws Exception {
    for (FloatFormat f : List.of(FloatFormat.FP32, FloatFormat.FP16, FloatFormat.BF16)) {
      LlamaModel m = LlamaModel.load(MODEL, f);
      LlamaModel fresh = LlamaModel.load(MODEL, f);
      WeightUpdate u =
          WeightUpdate.of(
              "T",
              List.of(),
              PrecisionPolicy.named("fp32"),
              List.of(
                  new WeightUpdate.Change(
                      WeightNames.Layer.W_DOWN.hf(1), 1, changed(down(m, 1), 0.5)),
                  new WeightUpdate.Change(
                      WeightNames.Layer.W_DOWN.hf(3), 3, changed(down(m, 3), -0.25))),
              Optional.empty(),
              null);
      WeightSnapshot s = WeightSnapshot.write(m, u);
      assertThat(m.weights().firstBitwiseDifference(fresh.weights())).as(f.name()).isPresent();
      assertThat(down(m, 3).getDouble(0)).isEqualTo(f.round(down(fresh, 3).getDouble(0) - 0.25));
      s.restore();
      assertThat(m.weights().firstBitwiseDifference(fresh.weights())).as(f.name()).isEmpty();
    }
  }

  @Test
  void overwriteKeepsTheFirstSavedValue() throws Exception {
    LlamaModel m = LlamaModel.load(MODEL, FloatFormat.FP16);
    LlamaModel fresh = LlamaModel.load(MODEL, FloatFormat.FP16);
    WeightSnapshot s = WeightSnapshot.of(m);
    String name = WeightNames.Layer.W_DOWN.hf(2);
    s.overwrite(name, 2, changed(down(m, 2), 1));
    s.overwrite(name, 2, changed(down(m, 2), 1)); // on top of the first write
    assertThat(down(m, 2).getDouble(0))
        .isEqualTo(
            FloatFormat.FP16.round(FloatFormat.FP16.round(down(fresh, 2).getDouble(0) + 1) + 1));
    s.restore();
    assertThat(m.weights().firstBitwiseDifference(fresh.weights())).isEmpty();
  }

  @Test
  void refusesWeightsItCannotWriteAndValuesOfTheWrongShape() throws Exception {
    LlamaModel m = LlamaModel.load(MODEL, FloatFormat.FP32);
    WeightSnapshot s = WeightSnapshot.of(m);
    Tensor up = m.weights().get(1, WeightNames.Layer.W_UP);
    assertThatThrownBy(() -> s.overwrite(WeightNames.Layer.W_UP.hf(1), 1, up.copy()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("mlp.down_proj");
    assertThatThrownBy(() -> s.overwrite(WeightNames.Layer.W_DOWN.hf(1), 2, down(m, 2).copy()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at layer 2");
    Tensor small = Tensor.zeros(FloatFormat.FP32, Shape.of(2, 2));
    assertThatThrownBy(() -> s.overwrite(WeightNames.Layer.W_DOWN.hf(1), 1, small))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot write");
    Tensor half = down(m, 1).to(FloatFormat.FP16);
    assertThatThrownBy(() -> s.overwrite(WeightNames.Layer.W_DOWN.hf(1), 1, half))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("fp16");
  }
}
