package io.nanscope.llama.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.llama.TestPaths;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LlamaConfigTest {

  static ByteBuffer header(int... h) {
    ByteBuffer b = ByteBuffer.allocate(4 * h.length).order(ByteOrder.LITTLE_ENDIAN);
    for (int v : h) {
      b.putInt(v);
    }
    return b.flip();
  }

  @Test
  void stories260KHeader() throws IOException {
    byte[] file = Files.readAllBytes(TestPaths.stories260K().resolve("stories260K.bin"));
    LlamaConfig c = LlamaConfig.fromLlama2cHeader(ByteBuffer.wrap(file, 0, 28), "stories260K.bin");
    assertThat(c)
        .isEqualTo(
            new LlamaConfig(
                64,
                172,
                5,
                8,
                4,
                512,
                512,
                1e-5,
                10000.0,
                true,
                "float32",
                RopeLayout.META_INTERLEAVED));
    assertThat(c.headDim()).isEqualTo(8);
    assertThat(c.kvDim()).isEqualTo(32);
    assertThat(c.parameterCount()).isEqualTo(260_032); // PROVENANCE.md: 260,032 real parameters
    assertThat(c.toLlama2cHeader()).containsExactly(java.util.Arrays.copyOf(file, 28));
  }

  @Test
  void negativeVocabMeansUnsharedClassifier() {
    LlamaConfig c = LlamaConfig.fromLlama2cHeader(header(64, 172, 5, 8, 4, -512, 512), "x.bin");
    assertThat(c.vocabSize()).isEqualTo(512);
    assertThat(c.tieWordEmbeddings()).isFalse();
    assertThat(c.parameterCount()).isEqualTo(260_032 + 512 * 64);
  }

  @Test
  void llama2_7bHasItsKnownParameterCount() {
    // Llama-2-7b-hf: 6,738,415,616 parameters (untied lm_head)
    assertThat(LlamaConfig.llama2_7b("bfloat16").parameterCount()).isEqualTo(6_738_415_616L);
    assertThat(LlamaConfig.llama2_7b("bfloat16").storageFormat()).isSameAs(FloatFormat.BF16);
  }

  @Test
  void hfJsonRoundTrip(@TempDir Path dir) throws IOException {
    LlamaConfig c =
        new LlamaConfig(
            64, 172, 5, 8, 4, 512, 512, 1e-5, 10000.0, true, "float16", RopeLayout.HF_ROTATE_HALF);
    Path f = Files.writeString(dir.resolve("config.json"), c.toHfJson());
    assertThat(LlamaConfig.fromHfJson(f)).isEqualTo(c);
  }

  @Test
  void hfJsonDefaultsFollowTransformers(@TempDir Path dir) throws IOException {
    Path f =
        Files.writeString(
            dir.resolve("config.json"),
            """
            {"hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
             "num_attention_heads": 32, "vocab_size": 32000, "torch_dtype": "float16"}\
            """);
    LlamaConfig c = LlamaConfig.fromHfJson(f);
    assertThat(c.nKvHeads()).isEqualTo(32);
    assertThat(c.normEps()).isEqualTo(1e-6);
    assertThat(c.ropeTheta()).isEqualTo(10000.0);
    assertThat(c.maxSeqLen()).isEqualTo(2048);
    assertThat(c.tieWordEmbeddings()).isFalse();
    assertThat(c.ropeLayout()).isEqualTo(RopeLayout.HF_ROTATE_HALF);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "-64, 172, 5, 8, 4, 512, 512 | dim is -64, expected a positive integer",
        "64, 0, 5, 8, 4, 512, 512 | hiddenDim is 0",
        "64, 172, 5, 7, 7, 512, 512 | not a multiple of nHeads 7",
        "64, 172, 5, 8, 3, 512, 512 | not a multiple of nKvHeads 3",
        "24, 172, 5, 8, 4, 512, 512 | head dim 3 (dim/nHeads) is odd",
        "64, 172, 5, 8, 4, 512, -1 | maxSeqLen is -1",
        "2147483644, 2147483646, 2147483647, 2, 2, 2147483647, 512 | more than 2^63 parameters",
      })
  void absurdHeadersAreRefused(String values, String message) {
    int[] h =
        java.util.Arrays.stream(values.split(","))
            .map(String::strip)
            .mapToInt(Integer::parseInt)
            .toArray();
    assertThatThrownBy(() -> LlamaConfig.fromLlama2cHeader(header(h), "bad.bin"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("bad.bin: bad llama2.c header")
        .hasMessageContaining(message);
  }

  @Test
  void shortHeaderIsRefused() {
    assertThatThrownBy(() -> LlamaConfig.fromLlama2cHeader(header(1, 2, 3), "short.bin"))
        .hasMessageContaining("short.bin")
        .hasMessageContaining("too short");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"hidden_size\": 64} | num_attention_heads is missing",
        "{\"model_type\": \"gpt2\"} | model_type is 'gpt2', expected 'llama'",
        "[1, 2] | expected a JSON object",
        "not json | not valid JSON",
        "{\"hidden_size\": 64, \"intermediate_size\": 172, \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"vocab_size\": 1e20} | vocab_size is 1.0E20",
        "{\"hidden_size\": 64, \"intermediate_size\": 172, \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"vocab_size\": 32, \"torch_dtype\": \"int8\"} | torch_dtype 'int8' is not supported",
        "{\"hidden_size\": 64, \"intermediate_size\": 172, \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"vocab_size\": 32, \"rope_scaling\": {\"type\": \"linear\"}} | rope_scaling",
      })
  void badConfigJsonIsRefused(String json, String message, @TempDir Path dir) throws IOException {
    Path f = Files.writeString(dir.resolve("config.json"), json);
    assertThatThrownBy(() -> LlamaConfig.fromHfJson(f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(f.toString())
        .hasMessageContaining(message);
  }
}
