package io.nanscope.cli.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.HfCheckpoint;
import io.nanscope.llama.weights.Llama2cCheckpoint;
import io.nanscope.llama.weights.SafetensorsFile;
import io.nanscope.llama.weights.ShardedSafetensors;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Timeout;

/**
 * Every file format the llama module reads, fuzzed against {@link InputContract}. Under {@code
 * ./test} each method replays its committed corpus (src/test/resources/.../
 * LlamaReadersFuzzTestInputs/METHOD); {@code scripts/fuzz.sh} fuzzes for longer.
 */
class LlamaReadersFuzzTest {

  @FuzzTest(maxDuration = "10s")
  @Timeout(30) // per input when fuzzing (Jazzer) and per seed in ./test
  void configJson(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("config.json"), data),
        d -> LlamaConfig.fromHfJson(d.resolve("config.json")));
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30) // per input when fuzzing (Jazzer) and per seed in ./test
  void safetensors(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("model.safetensors"), data),
        d -> {
          SafetensorsFile f = SafetensorsFile.open(d.resolve("model.safetensors"));
          for (String name : f.names()) {
            f.tensor(name);
          }
        });
  }

  /** A sharded index plus one shard: paths with "..", absolute paths, missing shards. */
  @FuzzTest(maxDuration = "10s")
  @Timeout(30) // per input when fuzzing (Jazzer) and per seed in ./test
  void shardedIndex(FuzzedDataProvider in) {
    byte[] shard = in.consumeBytes(in.consumeInt(0, 4096));
    String shardName = in.consumeString(40);
    byte[] index = in.consumeRemainingAsBytes();
    InputContract.check(
        shard.length + index.length,
        d -> {
          Files.write(d.resolve("model.safetensors.index.json"), index);
          Path s = safeChild(d, shardName);
          if (s != null) {
            Files.write(s, shard);
          }
        },
        d -> {
          ShardedSafetensors s = ShardedSafetensors.open(d.resolve("model.safetensors.index.json"));
          for (String name : s.names()) {
            s.tensor(name);
          }
        });
  }

  /** A whole Hugging Face directory: config.json plus model.safetensors. */
  @FuzzTest(maxDuration = "10s")
  @Timeout(30) // per input when fuzzing (Jazzer) and per seed in ./test
  void hfDirectory(FuzzedDataProvider in) {
    byte[] config = in.consumeBytes(in.consumeInt(0, 2048));
    byte[] weights = in.consumeRemainingAsBytes();
    InputContract.check(
        config.length + weights.length,
        d -> {
          Files.write(d.resolve("config.json"), config);
          Files.write(d.resolve("model.safetensors"), weights);
        },
        HfCheckpoint::read);
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30) // per input when fuzzing (Jazzer) and per seed in ./test
  void llama2cCheckpoint(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("model.bin"), data),
        d -> Llama2cCheckpoint.read(d.resolve("model.bin")));
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30) // per input when fuzzing (Jazzer) and per seed in ./test
  void tokenizerJson(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("tokenizer.json"), data),
        d -> Tokenizer.readHfJson(d.resolve("tokenizer.json")));
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30) // per input when fuzzing (Jazzer) and per seed in ./test
  void tokenizerModel(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("tokenizer.model"), data),
        d -> Tokenizer.readSentencePiece(d.resolve("tokenizer.model")));
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30) // per input when fuzzing (Jazzer) and per seed in ./test
  void tokenizerBin(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("tokenizer.bin"), data),
        d -> Tokenizer.readLlama2c(d.resolve("tokenizer.bin")));
  }

  /** A file name the fuzzer chose, only when it names a plain child of {@code dir}. */
  private static Path safeChild(Path dir, String name) {
    if (name.isEmpty()
        || name.contains("/")
        || name.contains("\\")
        || name.equals(".")
        || name.equals("..")
        || name.indexOf('\0') >= 0) {
      return null;
    }
    try {
      return dir.resolve(name);
    } catch (RuntimeException e) {
      return null;
    }
  }
}
