package io.nanscope.llama.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.TestPaths;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.weights.WeightNames.Layer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cCheckpointTest {

  static final Path BIN = TestPaths.stories260K().resolve("stories260K.bin");

  /** Floats of the file read independently (ByteBuffer, offsets computed by hand below). */
  static float[] floats(long firstFloat, int count) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(BIN)).order(ByteOrder.LITTLE_ENDIAN);
    float[] out = new float[count];
    for (int i = 0; i < count; i++) {
      out[i] = b.getFloat(28 + 4 * (int) (firstFloat + i));
    }
    return out;
  }

  @Test
  void readsStories260KAsViewsInFileOrder() throws IOException {
    LlamaWeights w = Llama2cCheckpoint.read(BIN);
    LlamaConfig c = w.config();
    assertThat(c.ropeLayout()).isEqualTo(RopeLayout.META_INTERLEAVED);
    assertThat(w.layers()).hasSize(5);
    assertThat(w.classifier()).isSameAs(w.embedding());
    // hand-computed float offsets for dim 64, hidden 172, kv_dim 32, vocab 512, 5 layers
    long emb = 512 * 64;
    long rmsAtt = emb;
    long wq = rmsAtt + 5 * 64;
    long wk = wq + 5 * 64 * 64;
    long wv = wk + 5 * 32 * 64;
    long wo = wv + 5 * 32 * 64;
    long rmsFfn = wo + 5 * 64 * 64;
    long w1 = rmsFfn + 5 * 64;
    long w2 = w1 + 5 * 172 * 64;
    long w3 = w2 + 5 * 64 * 172;
    long rmsFinal = w3 + 5 * 172 * 64;
    assertThat(rmsFinal + 64 + 2 * 512 * 4).isEqualTo(264_128); // PROVENANCE.md's float count
    assertThat(w.embedding().toFloatArray()).containsExactly(floats(0, 512 * 64));
    assertThat(w.get(3, Layer.ATTN_NORM).toFloatArray())
        .containsExactly(floats(rmsAtt + 3 * 64, 64));
    assertThat(w.get(3, Layer.WQ).toFloatArray())
        .containsExactly(floats(wq + 3 * 64 * 64, 64 * 64));
    assertThat(w.get(4, Layer.WK).toFloatArray())
        .containsExactly(floats(wk + 4 * 32 * 64, 32 * 64));
    assertThat(w.get(0, Layer.WV).toFloatArray()).containsExactly(floats(wv, 32 * 64));
    assertThat(w.get(2, Layer.WO).toFloatArray())
        .containsExactly(floats(wo + 2 * 64 * 64, 64 * 64));
    assertThat(w.get(1, Layer.FFN_NORM).toFloatArray()).containsExactly(floats(rmsFfn + 64, 64));
    assertThat(w.get(1, Layer.W_GATE).toFloatArray())
        .containsExactly(floats(w1 + 172 * 64, 172 * 64));
    assertThat(w.get(4, Layer.W_DOWN).toFloatArray())
        .containsExactly(floats(w2 + 4 * 64 * 172, 64 * 172));
    assertThat(w.get(2, Layer.W_UP).toFloatArray())
        .containsExactly(floats(w3 + 2 * 172 * 64, 172 * 64));
    assertThat(w.finalNorm().toFloatArray()).containsExactly(floats(rmsFinal, 64));
    assertThat(w.get(3, Layer.WQ).segment().isNative()).isTrue(); // a mapped view, not a heap copy
  }

  @Test
  void readFindsTheCheckpointInTheModelDirectory() throws IOException {
    LlamaWeights w = LlamaWeights.read(TestPaths.stories260K());
    assertThat(w.config().dim()).isEqualTo(64);
  }

  /** Writes a legacy v0 file: header, then {@code floats} float32 values 0.001·i. */
  static Path write(Path dir, int[] header, long floats) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(28 + 4 * (int) floats).order(ByteOrder.LITTLE_ENDIAN);
    for (int h : header) {
      b.putInt(h);
    }
    for (int i = 0; i < floats; i++) {
      b.putFloat(0.001f * i);
    }
    return Files.write(dir.resolve("m.bin"), b.array());
  }

  @Test
  void unsharedClassifierIsReadAfterTheRopeTables(@TempDir Path dir) throws IOException {
    int[] h = {8, 12, 1, 2, 1, -5, 3};
    LlamaConfig c = LlamaConfig.fromLlama2cHeader(LlamaConfigHeader.of(h), "x");
    long floats = c.parameterCount() + 2L * 3 * 2;
    Path f = write(dir, h, floats);
    LlamaWeights w = Llama2cCheckpoint.read(f);
    assertThat(w.classifier()).isNotSameAs(w.embedding());
    Tensor cls = w.classifier();
    assertThat(cls.get(0)).isEqualTo(0.001f * (floats - 5 * 8));
    assertThat(w.finalNorm().get(7)).isEqualTo(0.001f * (floats - 5 * 8 - 12 - 1));
  }

  @Test
  void badFilesAreRefusedWithTheirName(@TempDir Path dir) throws IOException {
    Path empty = Files.write(dir.resolve("empty.bin"), new byte[0]);
    assertThatThrownBy(() -> Llama2cCheckpoint.read(empty))
        .hasMessageContaining(empty.toString())
        .hasMessageContaining("too short");
    byte[] all = Files.readAllBytes(BIN);
    Path truncated = Files.write(dir.resolve("t.bin"), Arrays.copyOf(all, all.length - 4));
    assertThatThrownBy(() -> Llama2cCheckpoint.read(truncated))
        .hasMessageContaining(truncated.toString())
        .hasMessageContaining("needs exactly 1056540")
        .hasMessageContaining("truncated");
    Path longer = Files.write(dir.resolve("l.bin"), Arrays.copyOf(all, all.length + 4));
    assertThatThrownBy(() -> Llama2cCheckpoint.read(longer)).hasMessageContaining("1056544 bytes");
    byte[] v1 = all.clone();
    ByteBuffer.wrap(v1).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0x616b3432);
    Path versioned = Files.write(dir.resolve("v1.bin"), v1);
    assertThatThrownBy(() -> Llama2cCheckpoint.read(versioned))
        .hasMessageContaining("magic 'ak42'");
    // a valid config (2^61.8 parameters fit in a long) whose file size in bytes does not
    byte[] huge = all.clone();
    ByteBuffer hb = ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN);
    hb.putInt(0, 65536)
        .putInt(4, 65536)
        .putInt(8, 1 << 27)
        .putInt(12, 2)
        .putInt(16, 2)
        .putInt(20, 32)
        .putInt(24, 16);
    Path hugeFile = Files.write(dir.resolve("huge.bin"), huge);
    assertThatThrownBy(() -> Llama2cCheckpoint.read(hugeFile))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(hugeFile.toString())
        .hasMessageContaining("more than 2^63 bytes");
    byte[] absurd = all.clone();
    ByteBuffer.wrap(absurd).order(ByteOrder.LITTLE_ENDIAN).putInt(8, -5);
    Path bad = Files.write(dir.resolve("a.bin"), absurd);
    assertThatThrownBy(() -> Llama2cCheckpoint.read(bad))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(bad.toString())
        .hasMessageContaining("nLayers is -5");
  }

  /** The header as a buffer. */
  static final class LlamaConfigHeader {
    static ByteBuffer of(int[] h) {
      ByteBuffer b = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
      for (int v : h) {
        b.putInt(v);
      }
      return b.flip();
    }
  }
}
