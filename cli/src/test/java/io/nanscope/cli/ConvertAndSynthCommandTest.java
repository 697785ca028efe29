package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.SyntheticWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConvertAndSynthCommandTest {

  /** Every tensor of {@code actual} is bit-identical to the same tensor of {@code expected}. */
  static void assertSameWeights(LlamaWeights actual, LlamaWeights expected) {
    assertThat(actual.firstBitwiseDifference(expected)).isEmpty();
  }

  static Path repoRoot() {
    for (Path q = Path.of("").toAbsolutePath(); q != null; q = q.getParent()) {
      if (Files.isRegularFile(q.resolve("mvnw"))) {
        return q;
      }
    }
    throw new IllegalStateException("no mvnw above the working directory");
  }

  static final Path STORIES = repoRoot().resolve(ConvertCommand.DEFAULT_MODEL);

  /** A LICENSE* link to a private file, or a FIFO named LICENSE*, is neither followed nor read. */
  @Test
  void convertCopiesOnlyRegularLicenceFilesOfTheModelFolder(@TempDir Path tmp) throws Exception {
    Path src = Files.createDirectory(tmp.resolve("model"));
    for (String name :
        new String[] {
          "stories260K.bin", "tok512.bin", "tok512.model", "LICENSE-llama2.c-MIT.txt"
        }) {
      Files.copy(STORIES.resolve(name), src.resolve(name));
    }
    Path secret = Files.writeString(tmp.resolve("private.txt"), "not for sharing");
    Files.createSymbolicLink(src.resolve("LICENSE-link"), secret);
    Process fifo = new ProcessBuilder("mkfifo", src.resolve("LICENSE-fifo").toString()).start();
    assertThat(fifo.waitFor()).isZero();
    Path out = tmp.resolve("hf");
    MainTest.Result r =
        MainTest.run(
            "convert",
            "--model",
            src.resolve("stories260K.bin").toString(),
            "--out",
            out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(out.resolve("LICENSE-llama2.c-MIT.txt")).exists();
    assertThat(out.resolve("LICENSE-link")).doesNotExist();
    assertThat(out.resolve("LICENSE-fifo")).doesNotExist();
    assertThat(r.err()).contains("not copied: LICENSE-link").contains("not copied: LICENSE-fifo");
  }

  @ParameterizedTest
  @ValueSource(strings = {"f32", "bf16"})
  void convertWritesAnHfDirectoryThatReadsBackToTheSameWeightsAndIds(
      String dtype, @TempDir Path tmp) throws IOException {
    Path out = tmp.resolve("hf");
    MainTest.Result r =
        MainTest.run(
            "convert", "--model", STORIES.toString(), "--out", out.toString(), "--dtype", dtype);
    assertThat(r.err()).isEmpty();
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("wrote " + out).contains("260,032 parameters");
    try (var s = Files.list(out)) {
      assertThat(s.map(p -> p.getFileName().toString()).sorted().toList())
          .containsExactly(
              "LICENSE-llama2.c-MIT.txt",
              "config.json",
              "model.safetensors",
              "special_tokens_map.json",
              "tokenizer.json",
              "tokenizer_config.json");
    }
    FloatFormat f = ConvertCommand.storageFormat(dtype);
    LlamaWeights original = LlamaWeights.read(STORIES);
    LlamaWeights back = LlamaWeights.read(out);
    assertThat(back.config().ropeLayout()).isEqualTo(RopeLayout.HF_ROTATE_HALF);
    assertSameWeights(
        back.withRopeLayout(RopeLayout.META_INTERLEAVED),
        f == FloatFormat.FP32 ? original : original.to(f));
    Tokenizer tok512 = Tokenizer.readFromDirectory(STORIES);
    Tokenizer json = Tokenizer.readFromDirectory(out);
    for (String p : List.of("Once upon a time", "  Lily  saw a dog.\n", "Tom said, \"Hi!\" 🦙")) {
      assertThat(json.encode(p, true, false)).containsExactly(tok512.encode(p, true, false));
    }
  }

  @Test
  void defaultModelComesFromNanscopeHome(@TempDir Path tmp) {
    String old = System.getProperty("nanscope.home");
    System.setProperty("nanscope.home", repoRoot().toString());
    try {
      assertThat(ConvertCommand.defaultModel()).isEqualTo(STORIES);
      MainTest.Result r = MainTest.run("convert", "--out", tmp.resolve("d").toString());
      assertThat(r.code()).as(r.err()).isZero();
    } finally {
      if (old == null) {
        System.clearProperty("nanscope.home");
      } else {
        System.setProperty("nanscope.home", old);
      }
    }
    System.clearProperty("nanscope.home");
    assertThat(ConvertCommand.defaultModel()).isEqualTo(Path.of("models/stories260K"));
  }

  @Test
  void badInputIsOneLineExitTwoAndNothingWritten(@TempDir Path tmp) throws IOException {
    Path out = tmp.resolve("x");
    MainTest.Result r =
        MainTest.run(
            "convert", "--model", STORIES.toString(), "--out", out.toString(), "--dtype", "f8");
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err().strip().lines().count()).isEqualTo(1);
    assertThat(r.err()).contains("--dtype is 'f8', expected f32, f16 or bf16");
    r = MainTest.run("convert", "--model", tmp.resolve("nope").toString(), "--out", out.toString());
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err()).contains("does not exist");
    Path broken = Files.createDirectories(tmp.resolve("broken"));
    Files.write(broken.resolve("model.bin"), new byte[100]);
    Files.copy(STORIES.resolve("tok512.bin"), broken.resolve("tok512.bin"));
    r = MainTest.run("convert", "--model", broken.toString(), "--out", out.toString());
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err().strip().lines().count()).isEqualTo(1);
    assertThat(r.err()).contains(broken.resolve("model.bin").toString());
    r = MainTest.run("synth", "--shape", "llama2-70b", "--out", out.toString());
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err()).contains("--shape is 'llama2-70b', expected llama2-7b or tiny");
    assertThat(out).doesNotExist();
    try (var s = Files.list(tmp)) {
      assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("broken");
    }
    Files.createDirectories(out);
    Files.writeString(out.resolve("mine.txt"), "keep");
    r = MainTest.run("synth", "--shape", "tiny", "--out", out.toString());
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err()).contains("already exists and is not empty");
    assertThat(out.resolve("mine.txt")).hasContent("keep");
  }

  @Test
  void synthTinyWritesSeededShardedSafetensors(@TempDir Path tmp) throws IOException {
    Path out = tmp.resolve("tiny");
    MainTest.Result r =
        MainTest.run(
            "synth",
            "--shape",
            "tiny",
            "--dtype",
            "bf16",
            "--out",
            out.toString(),
            "--seed",
            "7",
            "--max-shard-mb",
            "1");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("tiny shape").contains("bfloat16").contains("seed 7");
    assertThat(out.resolve("model.safetensors.index.json")).exists();
    LlamaWeights back = LlamaWeights.read(out);
    assertThat(back.config()).isEqualTo(LlamaConfig.tiny("bfloat16"));
    assertSameWeights(
        back, SyntheticWeights.inMemory(LlamaConfig.tiny("bfloat16"), FloatFormat.BF16, 7));
  }

  @Test
  void synthLayersKeepsTheShapeWithFewerLayers(@TempDir Path tmp) throws IOException {
    Path out = tmp.resolve("tiny1");
    MainTest.Result r =
        MainTest.run(
            "synth",
            "--shape",
            "tiny",
            "--dtype",
            "f32",
            "--layers",
            "1",
            "--out",
            out.toString(),
            "--seed",
            "3");
    assertThat(r.code()).as(r.err()).isZero();
    LlamaConfig one = SynthCommand.withLayers(LlamaConfig.tiny("float32"), 1);
    assertThat(one.nLayers()).isEqualTo(1);
    assertThat(one.dim()).isEqualTo(LlamaConfig.tiny("float32").dim());
    LlamaWeights back = LlamaWeights.read(out);
    assertThat(back.config()).isEqualTo(one);
    assertSameWeights(back, SyntheticWeights.inMemory(one, FloatFormat.FP32, 3));
    r =
        MainTest.run(
            "synth", "--shape", "tiny", "--layers", "0", "--out", tmp.resolve("none").toString());
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err()).contains("--layers is 0, expected at least 1");
    assertThat(tmp.resolve("none")).doesNotExist();
  }
}
