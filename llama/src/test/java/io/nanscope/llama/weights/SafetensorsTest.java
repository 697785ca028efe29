package io.nanscope.llama.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.weights.SafetensorsWriter.Item;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SafetensorsTest {

  static Tensor tensor(FloatFormat f, Shape s, float scale) {
    Tensor t = Tensor.zeros(f, s);
    for (int i = 0; i < t.size(); i++) {
      t.set(i, scale * (i - 3.25f));
    }
    return t;
  }

  @Test
  void writeThenReadGivesTheSameBitsInEveryFormat(@TempDir Path dir) throws IOException {
    Tensor a = tensor(FloatFormat.FP32, Shape.of(3, 5), 0.1f);
    Tensor b =
        tensor(FloatFormat.FP16, Shape.of(7), 1000f); // includes values past FP16's range: inf
    Tensor c = tensor(FloatFormat.BF16, Shape.of(2, 2, 3), 1e30f);
    Tensor empty = Tensor.zeros(FloatFormat.FP32, Shape.of(0, 4));
    Path f = dir.resolve("x.safetensors");
    SafetensorsWriter.write(
        f,
        List.of(Item.of("a", a), Item.of("b", b), Item.of("c", c), Item.of("e", empty)),
        Map.of("format", "pt"));
    SafetensorsFile s = SafetensorsFile.open(f);
    assertThat(s.names()).containsExactly("a", "b", "c", "e");
    assertThat(s.metadata()).containsEntry("format", "pt");
    for (var p :
        List.of(Map.entry("a", a), Map.entry("b", b), Map.entry("c", c), Map.entry("e", empty))) {
      Tensor back = s.tensor(p.getKey());
      assertThat(back.format()).isSameAs(p.getValue().format());
      assertThat(back.shape()).isEqualTo(p.getValue().shape());
      assertThat(back.segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE))
          .containsExactly(p.getValue().segment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }
    // independent look at the bytes: u64 LE header length, multiple of 8, JSON, F16 bits of b[0]
    ByteBuffer raw = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
    long n = raw.getLong(0);
    assertThat(n % 8).isZero();
    String header = new String(Files.readAllBytes(f), 8, (int) n, StandardCharsets.UTF_8);
    assertThat(header).contains("\"b\":{\"dtype\":\"F16\",\"shape\":[7],\"data_offsets\":[60,74]}");
    assertThat(raw.getShort(8 + (int) n + 60)).isEqualTo(Float.floatToFloat16(-3250f));
    assertThat(dir).isDirectoryNotContaining("glob:**.tmp");
  }

  @Test
  void shardedWriteSplitsAndTheIndexReadsBack(@TempDir Path dir) throws IOException {
    List<Item> items =
        List.of(
            Item.of("a", tensor(FloatFormat.BF16, Shape.of(10), 1f)), // 20 bytes
            Item.of("b", tensor(FloatFormat.BF16, Shape.of(10), 2f)), // 20
            Item.of("c", tensor(FloatFormat.BF16, Shape.of(40), 3f)), // 80: larger than a shard
            Item.of("d", tensor(FloatFormat.BF16, Shape.of(5), 4f)));
    List<Path> shards = SafetensorsWriter.writeSharded(dir, items, 48, Map.of());
    assertThat(shards)
        .extracting(p -> p.getFileName().toString())
        .containsExactly(
            "model-00001-of-00003.safetensors",
            "model-00002-of-00003.safetensors",
            "model-00003-of-00003.safetensors");
    ShardedSafetensors s = ShardedSafetensors.open(dir.resolve("model.safetensors.index.json"));
    assertThat(s.names()).containsExactly("a", "b", "c", "d");
    for (Item it : items) {
      assertThat(s.tensor(it.name()).toFloatArray())
          .containsExactly(it.content().get().toFloatArray());
    }
    assertThat(Files.readString(dir.resolve("model.safetensors.index.json")))
        .contains("\"total_size\" : 130");
  }

  @Test
  void shardedIndexErrors(@TempDir Path dir) throws IOException {
    SafetensorsWriter.write(
        dir.resolve("s1.safetensors"),
        List.of(Item.of("a", tensor(FloatFormat.FP32, Shape.of(2), 1f))),
        Map.of());
    Path idx =
        Files.writeString(
            dir.resolve("model.safetensors.index.json"),
            "{\"weight_map\": {\"a\": \"s1.safetensors\", \"b\": \"s1.safetensors\"}}");
    assertThatThrownBy(() -> ShardedSafetensors.open(idx))
        .hasMessageContaining("tensor b is mapped to s1.safetensors, which does not hold it");
    Files.writeString(idx, "{\"weight_map\": {\"a\": \"missing.safetensors\"}}");
    assertThatThrownBy(() -> ShardedSafetensors.open(idx))
        .hasMessageContaining("shard missing.safetensors");
    Files.writeString(idx, "{\"weight_map\": {\"a\": \"../s1.safetensors\"}}");
    assertThatThrownBy(() -> ShardedSafetensors.open(idx))
        .hasMessageContaining("expected a file name in the same directory");
  }

  /** A file with the given header JSON and {@code dataBytes} zero bytes of data. */
  static Path raw(Path dir, String json, int dataBytes) throws IOException {
    byte[] h = json.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    return Files.write(dir.resolve("bad.safetensors"), b.array());
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} | 4 | outside the data section [0, 4]",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,2]}} | 8 | data_offsets [4, 2] outside",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}} | 12 | overlap",
        "{\"a\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}} | 8 | unknown dtype 'F17'",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}} | 8 | needs 12 bytes, but data_offsets [0, 8] span 8",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}} | 8 | expected non-negative integers",
        "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}} | 8 | has no dtype",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}} | 8 | data_offsets",
        "{\"a\": | 8 | not valid JSON",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}} | 8 | Duplicate",
        "[1] | 8 | wrong magic",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}} | 8 | more than 2^63 elements",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,1073741824],\"data_offsets\":[0,8]}} | 8 | too large",
      })
  void badHeadersAreRefusedWithTheFileName(
      String json, int dataBytes, String message, @TempDir Path dir) throws IOException {
    Path f = raw(dir, json, dataBytes);
    assertThatThrownBy(() -> SafetensorsFile.open(f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(f.toString())
        .hasMessageContaining(message);
  }

  @Test
  void badLengthsAreRefused(@TempDir Path dir) throws IOException {
    Path empty = Files.write(dir.resolve("e.safetensors"), new byte[0]);
    assertThatThrownBy(() -> SafetensorsFile.open(empty))
        .hasMessageContaining("empty or truncated");
    ByteBuffer b =
        ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(200L * 1024 * 1024);
    Path huge = Files.write(dir.resolve("h.safetensors"), b.array());
    assertThatThrownBy(() -> SafetensorsFile.open(huge))
        .hasMessageContaining("expected at most 104857600 (100 MB)");
    b.putLong(0, -1L);
    Path unsigned = Files.write(dir.resolve("u.safetensors"), b.array());
    assertThatThrownBy(() -> SafetensorsFile.open(unsigned))
        .hasMessageContaining("18446744073709551615");
    b.putLong(0, 64);
    Path past = Files.write(dir.resolve("p.safetensors"), b.array());
    assertThatThrownBy(() -> SafetensorsFile.open(past))
        .hasMessageContaining("runs past the end of the 16-byte file");
    SafetensorsWriter.write(
        dir.resolve("ok.safetensors"),
        List.of(Item.of("a", tensor(FloatFormat.FP32, Shape.of(64), 1f))),
        Map.of());
    byte[] ok = Files.readAllBytes(dir.resolve("ok.safetensors"));
    Path cut = Files.write(dir.resolve("cut.safetensors"), Arrays.copyOf(ok, ok.length - 1));
    assertThatThrownBy(() -> SafetensorsFile.open(cut))
        .hasMessageContaining("outside the data section");
  }

  @Test
  void unsupportedButKnownDtypeFailsWhenRead(@TempDir Path dir) throws IOException {
    Path f = raw(dir, "{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
    SafetensorsFile s = SafetensorsFile.open(f);
    assertThat(s.shape("a")).isEqualTo(Shape.of(1));
    assertThatThrownBy(() -> s.tensor("a"))
        .hasMessageContaining("dtype I64; expected F32, F16 or BF16");
    assertThatThrownBy(() -> s.tensor("zz")).hasMessageContaining("tensor zz is missing");
  }
}
