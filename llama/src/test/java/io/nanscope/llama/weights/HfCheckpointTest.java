package io.nanscope.llama.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.TestPaths;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.weights.WeightNames.Layer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HfCheckpointTest {

  /** Every tensor of {@code actual} is bit-identical to the same tensor of {@code expected}. */
  static void assertSameWeights(LlamaWeights actual, LlamaWeights expected) {
    assertThat(actual.firstBitwiseDifference(expected)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"f32", "f16", "bf16"})
  void stories260KRoundTripsThroughHfSafetensors(String dtype, @TempDir Path tmp)
      throws IOException {
    FloatFormat f = LlamaConfig.formatOf(dtype);
    LlamaWeights original = LlamaWeights.read(TestPaths.stories260K());
    Path out = tmp.resolve("hf");
    StagedDirectory.create(out, dir -> HfCheckpoint.write(original, f, dir, 0));
    LlamaWeights back = LlamaWeights.read(out);
    assertThat(back.config().ropeLayout()).isEqualTo(RopeLayout.HF_ROTATE_HALF);
    assertThat(back.config().tieWordEmbeddings()).isTrue();
    assertThat(back.classifier()).isSameAs(back.embedding());
    assertThat(back.config().storageFormat()).isSameAs(f);
    assertThat(back.config().withRopeLayout(RopeLayout.META_INTERLEAVED).withTorchDtype("float32"))
        .isEqualTo(original.config());
    // q/k rows really moved: the file's wq differs from the original's unless permuted back
    assertThat(back.get(0, Layer.WQ).toFloatArray())
        .isNotEqualTo(original.get(0, Layer.WQ).to(f).toFloatArray());
    LlamaWeights unpermuted = back.withRopeLayout(RopeLayout.META_INTERLEAVED);
    LlamaWeights expected = f == FloatFormat.FP32 ? original : original.to(f);
    assertSameWeights(unpermuted, expected);
    assertThat(Files.list(tmp).map(p -> p.getFileName().toString()).toList()).containsExactly("hf");
  }

  @Test
  void bitwiseDifferenceNamesTheFirstDifferingTensor() throws IOException {
    LlamaWeights w = LlamaWeights.read(TestPaths.stories260K());
    LlamaWeights copy = w.to(FloatFormat.FP32);
    assertThat(w.firstBitwiseDifference(copy)).isEmpty();
    copy.get(2, Layer.W_UP).set(17, Math.nextUp(copy.get(2, Layer.W_UP).get(17)));
    assertThat(w.firstBitwiseDifference(copy))
        .hasValueSatisfying(
            s -> assertThat(s).startsWith("model.layers.2.mlp.up_proj.weight: element 17 is "));
    assertThat(w.firstBitwiseDifference(w.to(FloatFormat.BF16)))
        .hasValueSatisfying(
            s -> assertThat(s).startsWith("model.embed_tokens.weight: Tensor[fp32"));
  }

  @Test
  void hfToMetaAndBackIsTheIdentity() throws IOException {
    LlamaWeights w = LlamaWeights.read(TestPaths.stories260K());
    LlamaWeights there = w.withRopeLayout(RopeLayout.HF_ROTATE_HALF);
    assertThat(there.withRopeLayout(RopeLayout.HF_ROTATE_HALF)).isSameAs(there);
    assertSameWeights(there.withRopeLayout(RopeLayout.META_INTERLEAVED), w);
  }

  @Test
  void shardedSyntheticModelReadsBack(@TempDir Path tmp) throws IOException {
    LlamaConfig c = LlamaConfig.tiny("bfloat16");
    Path out = tmp.resolve("synth");
    StagedDirectory.create(out, dir -> SyntheticWeights.write(c, FloatFormat.BF16, 42, dir, 4096));
    assertThat(out.resolve("model.safetensors.index.json")).exists();
    try (var s = Files.list(out)) {
      assertThat(s.filter(p -> p.toString().endsWith(".safetensors")).count()).isGreaterThan(2);
    }
    LlamaWeights back = LlamaWeights.read(out);
    assertThat(back.config()).isEqualTo(c);
    // independently regenerated tensors; SyntheticWeights writes them without any permutation
    assertSameWeights(back, SyntheticWeights.inMemory(c, FloatFormat.BF16, 42));
    Tensor wq = back.get(1, Layer.WQ);
    double sum = 0;
    double sq = 0;
    for (long i = 0; i < wq.size(); i++) {
      sum += wq.get(i);
      sq += (double) wq.get(i) * wq.get(i);
    }
    double std = Math.sqrt(sq / wq.size() - Math.pow(sum / wq.size(), 2));
    assertThat(std).isBetween(0.015, 0.025); // 256 samples of a std-0.02 uniform
    assertThat(back.finalNorm().toFloatArray()).containsOnly(1f);
    assertThat(SyntheticWeights.inMemory(c, FloatFormat.BF16, 43).get(0, Layer.WQ).toFloatArray())
        .isNotEqualTo(back.get(0, Layer.WQ).toFloatArray());
  }

  // ------------------------------------------------------------------ bad input

  /** A converted stories260K directory to corrupt. */
  static Path converted(Path tmp) throws IOException {
    LlamaWeights w = LlamaWeights.read(TestPaths.stories260K());
    Path out = tmp.resolve("hf");
    StagedDirectory.create(out, dir -> HfCheckpoint.write(w, FloatFormat.FP32, dir, 0));
    return out;
  }

  @Test
  void missingTensorIsNamed(@TempDir Path tmp) throws IOException {
    Path dir = converted(tmp);
    SafetensorsFile s = SafetensorsFile.open(dir.resolve("model.safetensors"));
    List<SafetensorsWriter.Item> keep =
        s.names().stream()
            .filter(n -> !n.equals("model.layers.3.mlp.up_proj.weight"))
            .map(n -> SafetensorsWriter.Item.of(n, s.tensor(n)))
            .toList();
    Path other = tmp.resolve("x.safetensors");
    SafetensorsWriter.write(other, keep, Map.of());
    Files.move(
        other, dir.resolve("model.safetensors"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThatThrownBy(() -> LlamaWeights.read(dir))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(dir.resolve("model.safetensors").toString())
        .hasMessageContaining("tensor model.layers.3.mlp.up_proj.weight is missing");
  }

  @Test
  void wrongShapeForTheConfigIsNamed(@TempDir Path tmp) throws IOException {
    Path dir = converted(tmp);
    Path cfg = dir.resolve("config.json");
    Files.writeString(
        cfg,
        Files.readString(cfg)
            .replace("\"intermediate_size\" : 172", "\"intermediate_size\" : 170"));
    assertThatThrownBy(() -> LlamaWeights.read(dir))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "tensor model.layers.0.mlp.gate_proj.weight has shape (172, 64), the config expects (170, 64)");
  }

  @Test
  void absurdConfigIsRefused(@TempDir Path tmp) throws IOException {
    Path dir = converted(tmp);
    Path cfg = dir.resolve("config.json");
    Files.writeString(
        cfg,
        Files.readString(cfg).replace("\"num_hidden_layers\" : 5", "\"num_hidden_layers\" : -5"));
    assertThatThrownBy(() -> LlamaWeights.read(dir))
        .hasMessageContaining(cfg.toString())
        .hasMessageContaining("nLayers is -5, expected a positive integer");
  }

  @Test
  void untiedModelWithoutClassifierIsRefused(@TempDir Path tmp) throws IOException {
    Path dir = converted(tmp);
    Path cfg = dir.resolve("config.json");
    Files.writeString(
        cfg,
        Files.readString(cfg)
            .replace("\"tie_word_embeddings\" : true", "\"tie_word_embeddings\" : false"));
    assertThatThrownBy(() -> LlamaWeights.read(dir))
        .hasMessageContaining("tensor lm_head.weight is missing");
  }

  @Test
  void directoryWithoutWeightsIsRefused(@TempDir Path tmp) throws IOException {
    Path dir = converted(tmp);
    Files.delete(dir.resolve("model.safetensors"));
    assertThatThrownBy(() -> LlamaWeights.read(dir))
        .hasMessageContaining("neither model.safetensors nor");
  }

  @Test
  void stagedDirectoryLeavesNothingOnFailureAndRefusesNonEmptyOutput(@TempDir Path tmp)
      throws IOException {
    Path out = tmp.resolve("out");
    assertThatThrownBy(() ->
            StagedDirectory.create(
                out,
                dir -> {
                  Files.writeString(dir.resolve("half.txt"), "half");
                  throw new IOException("disk full");
                }))
        .hasMessage("disk full");
    try (var s = Files.list(tmp)) {
      assertThat(s.toList()).isEmpty();
    }
    Files.createDirectories(out);
    Files.writeString(out.resolve("keep.txt"), "mine");
    assertThatThrownBy(() -> StagedDirectory.create(out, dir -> {}))
        .hasMessageContaining("already exists and is not empty");
    assertThat(out.resolve("keep.txt")).hasContent("mine");
  }
}
