package io.nanscope.llama.weights;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.weights.WeightNames.Layer;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * llama2.c checkpoint, legacy version 0 (what {@code run.c} reads and {@code models/stories260K}
 * is): the 28-byte header of {@link LlamaConfig#fromLlama2cHeader}, then float32 little-endian:
 *
 * <pre>
 * token_embedding (V, C) · rms_att (L, C) · wq (L, C, C) · wk (L, Hkv·D, C) · wv (L, Hkv·D, C)
 * · wo (L, C, C) · rms_ffn (L, C) · w1 (L, F, C) · w2 (L, C, F) · w3 (L, F, C) · rms_final (C)
 * · freq_cis_real (T_max, D/2) · freq_cis_imag (T_max, D/2)  [legacy RoPE tables: skipped]
 * · wcls (V, C)  [only if the header's vocab_size is negative]
 * </pre>
 *
 * Tensors are views of the memory-mapped file; q/k rows are in Meta's interleaved RoPE layout.
 */
public final class Llama2cCheckpoint {

  /**
   * "ak42": the magic of llama2.c's versioned exports (v1, v2), which this reader does not read.
   */
  static final int VERSIONED_MAGIC = 0x616b3432;

  /** The order of per-layer blocks in the file (llama2.c's {@code memory_map_weights}). */
  private static final Layer[] BEFORE_FFN_NORM = {
    Layer.ATTN_NORM, Layer.WQ, Layer.WK, Layer.WV, Layer.WO
  };

  private static final Layer[] AFTER_FFN_NORM = {Layer.W_GATE, Layer.W_DOWN, Layer.W_UP};

  private Llama2cCheckpoint() {}

  /** Reads and validates {@code file}; the tensors map it read-only. */
  public static LlamaWeights read(Path file) throws IOException {
    MemorySegment all;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
    }
    long size = all.byteSize();
    if (size < LlamaConfig.LLAMA2C_HEADER_BYTES) {
      throw new IllegalArgumentException(
          file
              + ": "
              + size
              + " bytes, too short for a llama2.c checkpoint (28-byte header + float32 weights); truncated or empty?");
    }
    int first =
        all.get(
            java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
    if (first == VERSIONED_MAGIC) {
      throw new IllegalArgumentException(
          file
              + ": a versioned llama2.c export (magic 'ak42');"
              + " nanscope reads the legacy v0 format (export with --version 0) or HF safetensors");
    }
    LlamaConfig c =
        LlamaConfig.fromLlama2cHeader(
            all.asSlice(0, LlamaConfig.LLAMA2C_HEADER_BYTES).asByteBuffer(), file.toString());
    long expected;
    try {
      expected = expectedBytes(c);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(
          file
              + ": the header "
              + describe(c)
              + " describes a file of more than 2^63 bytes: not a llama2.c checkpoint, or a corrupt header");
    }
    if (size != expected) {
      throw new IllegalArgumentException(
          file
              + ": "
              + size
              + " bytes, but the header "
              + describe(c)
              + " needs exactly "
              + expected
              + " (legacy v0 layout)"
              + (size < expected ? ": the file is truncated" : ""));
    }
    long l = c.nLayers();
    Cursor cur = new Cursor(all, LlamaConfig.LLAMA2C_HEADER_BYTES);
    Tensor embedding = cur.next(Shape.of(c.vocabSize(), c.dim()));
    Map<Layer, Tensor> blocks = new EnumMap<>(Layer.class);
    for (Layer t : BEFORE_FFN_NORM) {
      blocks.put(t, cur.next(stacked(l, t.shape(c))));
    }
    blocks.put(Layer.FFN_NORM, cur.next(stacked(l, Layer.FFN_NORM.shape(c))));
    for (Layer t : AFTER_FFN_NORM) {
      blocks.put(t, cur.next(stacked(l, t.shape(c))));
    }
    Tensor finalNorm = cur.next(Shape.of(c.dim()));
    cur.skip(2L * c.maxSeqLen() * (c.headDim() / 2)); // freq_cis_real, freq_cis_imag
    Tensor classifier =
        c.tieWordEmbeddings() ? embedding : cur.next(Shape.of(c.vocabSize(), c.dim()));
    List<LayerWeights> layers = new ArrayList<>();
    for (int i = 0; i < c.nLayers(); i++) {
      final int li = i;
      layers.add(LayerWeights.from(t -> blocks.get(t).slice(li, li + 1).reshape(t.shape(c))));
    }
    LlamaWeights.validate(c, embedding, layers, finalNorm, classifier, file.toString());
    return new LlamaWeights(c, embedding, layers, finalNorm, classifier);
  }

  /** Exact size of a legacy v0 file for {@code c}, in bytes. */
  public static long expectedBytes(LlamaConfig c) {
    long floats = c.parameterCount() + 2L * c.maxSeqLen() * (c.headDim() / 2);
    return Math.addExact(LlamaConfig.LLAMA2C_HEADER_BYTES, Math.multiplyExact(4, floats));
  }

  private static String describe(LlamaConfig c) {
    return "(dim "
        + c.dim()
        + ", hidden "
        + c.hiddenDim()
        + ", layers "
        + c.nLayers()
        + ", heads "
        + c.nHeads()
        + ", kv heads "
        + c.nKvHeads()
        + ", vocab "
        + c.vocabSize()
        + (c.tieWordEmbeddings() ? " shared" : " unshared")
        + ", seq_len "
        + c.maxSeqLen()
        + ")";
  }

  private static Shape stacked(long n, Shape s) {
    long[] d = s.dims();
    long[] out = new long[d.length + 1];
    out[0] = n;
    System.arraycopy(d, 0, out, 1, d.length);
    return Shape.of(out);
  }

  /** Walks the file, handing out consecutive float32 views. */
  private static final class Cursor {
    private final MemorySegment all;
    private long offset;

    Cursor(MemorySegment all, long offset) {
      this.all = all;
      this.offset = offset;
    }

    Tensor next(Shape shape) {
      long bytes = Math.multiplyExact(shape.size(), 4);
      Tensor t = Tensor.wrap(FloatFormat.FP32, shape, all.asSlice(offset, bytes));
      offset += bytes;
      return t;
    }

    void skip(long floats) {
      offset += Math.multiplyExact(floats, 4);
    }
  }
}
