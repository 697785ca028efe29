package io.nanscope.llama.weights;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.io.AtomicFile;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Writes safetensors files: the header (with {@code __metadata__}, padded with spaces to a multiple
 * of 8 bytes as the reference writer does), then each tensor's bytes in order. Each file is written
 * to a temporary sibling and renamed into place, so a failure leaves no partial file. Tensor
 * contents are produced one at a time ({@link Item#content}), so a model larger than the heap can
 * be streamed out.
 */
public final class SafetensorsWriter {

  private static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final int CHUNK_BYTES = 1 << 20;

  private SafetensorsWriter() {}

  /** One tensor to write; {@code content} is called once, when its turn comes. */
  public record Item(String name, FloatFormat format, Shape shape, Supplier<Tensor> content) {

    public static Item of(String name, Tensor t) {
      return new Item(name, t.format(), t.shape(), () -> t);
    }

    long bytes() {
      return Math.multiplyExact(shape.size(), (long) format.bytes());
    }
  }

  /** Writes {@code items} to {@code file} (replaced atomically). */
  public static void write(Path file, List<Item> items, Map<String, String> metadata)
      throws IOException {
    if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
      throw new UnsupportedOperationException("safetensors writing needs a little-endian platform");
    }
    ObjectNode header = JSON.createObjectNode();
    ObjectNode meta = header.putObject("__metadata__");
    metadata.forEach(meta::put);
    long offset = 0;
    for (Item it : items) {
      ObjectNode e = header.putObject(it.name());
      e.put("dtype", SafetensorsFile.dtypeOf(it.format()));
      var shape = e.putArray("shape");
      for (long d : it.shape().dims()) {
        shape.add(d);
      }
      long end = Math.addExact(offset, it.bytes());
      e.putArray("data_offsets").add(offset).add(end);
      offset = end;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded).put(json);
    while (head.hasRemaining()) {
      head.put((byte) ' ');
    }
    head.flip();
    AtomicFile.writeChannel(
        file,
        ch -> {
          try (Arena arena = Arena.ofConfined()) {
            AtomicFile.writeFully(ch, head);
            MemorySegment buf = arena.allocate(CHUNK_BYTES, 64);
            for (Item it : items) {
              Tensor t = it.content().get();
              if (t.format() != it.format() || !t.shape().equals(it.shape())) {
                throw new IllegalStateException(
                    "tensor "
                        + it.name()
                        + " was announced as "
                        + it.format()
                        + " "
                        + it.shape()
                        + " but produced "
                        + t);
              }
              MemorySegment src = t.segment();
              for (long pos = 0; pos < src.byteSize(); pos += CHUNK_BYTES) {
                long n = Math.min(CHUNK_BYTES, src.byteSize() - pos);
                MemorySegment.copy(src, pos, buf, 0, n);
                AtomicFile.writeFully(ch, buf.asSlice(0, n).asByteBuffer());
              }
            }
          }
        });
  }

  /**
   * Writes {@code items} as shards {@code model-0000i-of-0000n.safetensors} of at most {@code
   * maxShardBytes} data bytes each (a larger single tensor gets a shard of its own), plus {@code
   * model.safetensors.index.json} with {@code metadata.total_size} and {@code weight_map}.
   *
   * @return the shard files, in order
   */
  public static List<Path> writeSharded(
      Path dir, List<Item> items, long maxShardBytes, Map<String, String> metadata)
      throws IOException {
    if (maxShardBytes <= 0) {
      throw new IllegalArgumentException("maxShardBytes is " + maxShardBytes + ", expected > 0");
    }
    List<List<Item>> shards = new ArrayList<>();
    List<Item> current = new ArrayList<>();
    long currentBytes = 0;
    long total = 0;
    for (Item it : items) {
      if (!current.isEmpty() && currentBytes + it.bytes() > maxShardBytes) {
        shards.add(current);
        current = new ArrayList<>();
        currentBytes = 0;
      }
      current.add(it);
      currentBytes += it.bytes();
      total += it.bytes();
    }
    if (!current.isEmpty()) {
      shards.add(current);
    }
    ObjectNode index = JSON.createObjectNode();
    index.putObject("metadata").put("total_size", total);
    ObjectNode map = index.putObject("weight_map");
    List<Path> files = new ArrayList<>();
    for (int s = 0; s < shards.size(); s++) {
      String name = String.format("model-%05d-of-%05d.safetensors", s + 1, shards.size());
      Path f = dir.resolve(name);
      write(f, shards.get(s), metadata);
      files.add(f);
      for (Item it : shards.get(s)) {
        map.put(it.name(), name);
      }
    }
    Path indexFile = dir.resolve("model.safetensors.index.json");
    AtomicFile.write(indexFile, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
    return files;
  }
}
