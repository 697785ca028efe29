package io.nanscope.llama.weights;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * One {@code .safetensors} file, memory-mapped: an unsigned 64-bit little-endian header length N, N
 * bytes of JSON {@code {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
 * {...}}}, then the data; offsets count from the first data byte. Every entry is validated when the
 * file is opened (dtype known, shape, offsets within the data and matching the shape, no two
 * tensors overlapping); tensors are views of the mapping, never copied.
 */
public final class SafetensorsFile implements TensorSource {

  /** Largest header accepted (the safetensors library's own limit). */
  public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  /**
   * Duplicate keys would make two tensors share a name: refuse them instead of keeping the last.
   */
  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  /**
   * Every dtype name of the safetensors format, with its element size in bytes (F4: 0 = packed).
   */
  private static final Map<String, Integer> KNOWN_DTYPES =
      Map.ofEntries(
          Map.entry("BOOL", 1),
          Map.entry("U8", 1),
          Map.entry("I8", 1),
          Map.entry("F8_E5M2", 1),
          Map.entry("F8_E4M3", 1),
          Map.entry("F8_E8M0", 1),
          Map.entry("I16", 2),
          Map.entry("U16", 2),
          Map.entry("F16", 2),
          Map.entry("BF16", 2),
          Map.entry("I32", 4),
          Map.entry("U32", 4),
          Map.entry("F32", 4),
          Map.entry("I64", 8),
          Map.entry("U64", 8),
          Map.entry("F64", 8),
          Map.entry("C64", 8));

  /** One header entry. */
  public record Entry(String name, String dtype, Shape shape, long begin, long end) {}

  private final Path file;
  private final MemorySegment data;
  private final Map<String, Entry> entries;
  private final Map<String, String> metadata;

  private SafetensorsFile(
      Path file, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
    this.file = file;
    this.data = data;
    this.entries = entries;
    this.metadata = metadata;
  }

  /** Maps and validates {@code file}. */
  public static SafetensorsFile open(Path file) throws IOException {
    MemorySegment all;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), Arena.ofAuto());
    }
    long size = all.byteSize();
    if (size < 8) {
      throw bad(
          file,
          "the file is "
              + size
              + " bytes, shorter than the 8-byte header length;"
              + " is it empty or truncated?");
    }
    long n = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
    if (n < 0 || n > MAX_HEADER_BYTES) {
      throw bad(
          file,
          "the header length is "
              + Long.toUnsignedString(n)
              + " bytes; expected at most "
              + MAX_HEADER_BYTES
              + " (100 MB): is this file truncated or not safetensors?");
    }
    if (8 + n > size) {
      throw bad(
          file,
          "the header length "
              + n
              + " runs past the end of the "
              + size
              + "-byte file: the file is truncated");
    }
    if (n < 2 || all.get(ValueLayout.JAVA_BYTE, 8) != '{') {
      throw bad(file, "the header does not start with '{' (wrong magic): not a safetensors file");
    }
    String header;
    try {
      header =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .decode(all.asSlice(8, n).asByteBuffer())
              .toString();
    } catch (CharacterCodingException e) {
      throw bad(file, "the header is not UTF-8");
    }
    JsonNode root;
    try {
      root = JSON.readTree(header);
    } catch (JacksonException e) {
      throw bad(file, "the header is not valid JSON (" + e.getOriginalMessage() + ")");
    }
    if (root == null || !root.isObject()) {
      throw bad(file, "the header is not a JSON object");
    }
    MemorySegment data = all.asSlice(8 + n);
    long dataLen = data.byteSize();
    Map<String, Entry> entries = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    for (var e : root.properties()) {
      String name = e.getKey();
      JsonNode v = e.getValue();
      if (name.equals("__metadata__")) {
        for (var m : v.properties()) {
          metadata.put(m.getKey(), m.getValue().asString(""));
        }
        continue;
      }
      entries.put(name, entry(file, name, v, dataLen));
    }
    List<Entry> byOffset = new ArrayList<>(entries.values());
    byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
    for (int i = 1; i < byOffset.size(); i++) {
      Entry a = byOffset.get(i - 1);
      Entry b = byOffset.get(i);
      if (b.begin() < a.end()) {
        throw bad(
            file,
            "tensors "
                + a.name()
                + " ["
                + a.begin()
                + ", "
                + a.end()
                + ") and "
                + b.name()
                + " ["
                + b.begin()
                + ", "
                + b.end()
                + ") overlap; expected disjoint data_offsets");
      }
    }
    return new SafetensorsFile(
        file, data, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
  }

  private static Entry entry(Path file, String name, JsonNode v, long dataLen) {
    String dtype = v.path("dtype").asString(null);
    if (dtype == null) {
      throw bad(file, "tensor " + name + " has no dtype");
    }
    Integer elemBytes = KNOWN_DTYPES.get(dtype);
    if (elemBytes == null) {
      throw bad(
          file,
          "tensor "
              + name
              + " has unknown dtype '"
              + dtype
              + "'; expected one of "
              + new java.util.TreeSet<>(KNOWN_DTYPES.keySet()));
    }
    JsonNode shapeNode = v.path("shape");
    JsonNode offs = v.path("data_offsets");
    if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
      throw bad(
          file, "tensor " + name + " needs \"shape\": [..] and \"data_offsets\": [begin, end]");
    }
    long[] dims = new long[shapeNode.size()];
    for (int i = 0; i < dims.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong() || d.longValue() < 0) {
        throw bad(
            file,
            "tensor " + name + " has shape " + shapeNode + "; expected non-negative integers");
      }
      dims[i] = d.longValue();
    }
    Shape shape;
    try {
      shape = Shape.of(dims);
    } catch (IllegalArgumentException ex) {
      throw bad(file, "tensor " + name + ": " + ex.getMessage());
    }
    if (!offs.get(0).isIntegralNumber()
        || !offs.get(1).isIntegralNumber()
        || !offs.get(0).canConvertToLong()
        || !offs.get(1).canConvertToLong()) {
      throw bad(file, "tensor " + name + " has data_offsets " + offs + "; expected two integers");
    }
    long begin = offs.get(0).longValue();
    long end = offs.get(1).longValue();
    if (begin < 0 || end < begin || end > dataLen) {
      throw bad(
          file,
          "tensor "
              + name
              + " has data_offsets ["
              + begin
              + ", "
              + end
              + "] outside the data section [0, "
              + dataLen
              + "]");
    }
    long need;
    try {
      need = Math.multiplyExact(shape.size(), (long) elemBytes);
    } catch (ArithmeticException ex) {
      throw bad(file, "tensor " + name + " of shape " + shape + " is too large");
    }
    if (end - begin != need) {
      throw bad(
          file,
          "tensor "
              + name
              + " ("
              + dtype
              + ", shape "
              + shape
              + ") needs "
              + need
              + " bytes, but data_offsets ["
              + begin
              + ", "
              + end
              + "] span "
              + (end - begin));
    }
    return new Entry(name, dtype, shape, begin, end);
  }

  /** The format of a safetensors dtype nanscope computes with: F32, F16, BF16, F64. */
  static FloatFormat formatOf(String dtype) {
    return switch (dtype) {
      case "F32" -> FloatFormat.FP32;
      case "F16" -> FloatFormat.FP16;
      case "BF16" -> FloatFormat.BF16;
      case "F64" -> FloatFormat.FP64;
      default -> null;
    };
  }

  /** The safetensors dtype name of {@code format}. */
  static String dtypeOf(FloatFormat format) {
    if (format == FloatFormat.FP32) {
      return "F32";
    } else if (format == FloatFormat.FP16) {
      return "F16";
    } else if (format == FloatFormat.BF16) {
      return "BF16";
    } else if (format == FloatFormat.FP64) {
      return "F64";
    }
    throw new IllegalArgumentException(
        format + " has no safetensors dtype; use fp32, fp16 or bf16");
  }

  @Override
  public Set<String> names() {
    return entries.keySet();
  }

  public Entry entry(String name) {
    Entry e = entries.get(name);
    if (e == null) {
      throw new IllegalArgumentException(file + ": tensor " + name + " is missing");
    }
    return e;
  }

  @Override
  public Shape shape(String name) {
    return entry(name).shape();
  }

  @Override
  public Tensor tensor(String name) {
    Entry e = entry(name);
    FloatFormat f = formatOf(e.dtype());
    if (f == null) {
      throw bad(file, "tensor " + name + " has dtype " + e.dtype() + "; expected F32, F16 or BF16");
    }
    return Tensor.wrap(f, e.shape(), data.asSlice(e.begin(), e.end() - e.begin()));
  }

  /** The {@code __metadata__} strings. */
  public Map<String, String> metadata() {
    return metadata;
  }

  @Override
  public String source() {
    return file.toString();
  }

  static IllegalArgumentException bad(Path file, String what) {
    return new IllegalArgumentException(file + ": " + what);
  }
}
