package io.nanscope.llama;

import static org.assertj.core.api.Assertions.fail;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.SafetensorsFile;
import io.nanscope.llama.weights.StagedDirectory;
import io.nanscope.llama.weights.SyntheticWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adversarial inputs: every reader, fed seeded random corruptions of a valid file (truncation,
 * flipped bytes, overwritten runs), either succeeds or throws IllegalArgumentException — never an
 * index, buffer, arithmetic or out-of-memory error.
 */
class CorruptFilesTest {

  @FunctionalInterface
  interface Reader {
    void read(Path p) throws IOException;
  }

  static byte[] mutate(byte[] valid, SplittableRandom r, int span) {
    byte[] b = valid.clone();
    switch (r.nextInt(3)) {
      case 0 -> b = Arrays.copyOf(b, r.nextInt(b.length));
      case 1 -> {
        for (int i = 0, n = 1 + r.nextInt(8); i < n; i++) {
          b[r.nextInt(Math.min(span, b.length))] ^= (byte) (1 << r.nextInt(8));
        }
      }
      default -> {
        int at = r.nextInt(Math.min(span, b.length));
        for (int i = at; i < Math.min(b.length, at + 1 + r.nextInt(16)); i++) {
          b[i] = (byte) r.nextInt(256);
        }
      }
    }
    return b;
  }

  static void fuzz(Path valid, Path dir, String name, int span, int trials, Reader reader)
      throws IOException {
    byte[] bytes = Files.readAllBytes(valid);
    SplittableRandom r = new SplittableRandom(name.hashCode());
    Path f = dir.resolve(name);
    for (int t = 0; t < trials; t++) {
      byte[] m = mutate(bytes, r, span);
      Files.write(f, m);
      try {
        reader.read(f);
      } catch (IllegalArgumentException expected) {
        // the one allowed failure
      } catch (RuntimeException | IOException | Error e) {
        fail("trial %d on %s (%d bytes) threw %s", t, name, m.length, e);
      }
    }
  }

  static void encodeSome(Tokenizer t) {
    try {
      t.decode(t.encode("Once upon a time, 🦙  x\n", true, true));
    } catch (IllegalStateException noSpecialToken) {
      // a corrupted file may define no BOS/EOS/UNK: encode says so
    }
  }

  @Test
  void tokenizerReadersOnlyThrowIllegalArgument(@TempDir Path dir) throws IOException {
    Path stories = TestPaths.stories260K();
    fuzz(
        stories.resolve("tok512.bin"),
        dir,
        "tok.bin",
        Integer.MAX_VALUE,
        250,
        p -> encodeSome(Tokenizer.readLlama2c(p)));
    fuzz(
        stories.resolve("tok512.model"),
        dir,
        "tok.model",
        Integer.MAX_VALUE,
        250,
        p -> encodeSome(Tokenizer.readSentencePiece(p)));
    Path hf = Files.createDirectories(dir.resolve("hf"));
    Tokenizer.readLlama2c(stories.resolve("tok512.bin")).writeHfFiles(hf);
    fuzz(
        hf.resolve("tokenizer.json"),
        dir,
        "tokenizer.json",
        Integer.MAX_VALUE,
        200,
        p -> encodeSome(Tokenizer.readHfJson(p)));
  }

  @Test
  void weightReadersOnlyThrowIllegalArgument(@TempDir Path dir) throws IOException {
    Path tiny = dir.resolve("tiny");
    LlamaConfig c = LlamaConfig.tiny("float32");
    StagedDirectory.create(tiny, d -> SyntheticWeights.write(c, FloatFormat.FP32, 1, d, 1 << 30));
    Path shard = tiny.resolve("model-00001-of-00001.safetensors");
    byte[] header = Files.readAllBytes(shard);
    int headerEnd =
        8
            + (int)
                java.nio.ByteBuffer.wrap(header).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(0);
    fuzz(
        shard,
        dir,
        "x.safetensors",
        headerEnd,
        400,
        p -> {
          SafetensorsFile s = SafetensorsFile.open(p);
          for (String n : s.names()) {
            s.tensor(n);
          }
        });
    fuzz(
        TestPaths.stories260K().resolve("stories260K.bin"),
        dir,
        "m.bin",
        28,
        120,
        LlamaWeights::read);
  }
}
