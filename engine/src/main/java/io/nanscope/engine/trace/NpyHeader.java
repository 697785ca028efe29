package io.nanscope.engine.trace;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The header of numpy's {@code .npy} format (NEP 1), written and read in one place for every {@code
 * .npy} nanscope handles: tensors ({@link Npy}) and the raw typed arrays of the editing statistics
 * ({@code NpyArray}).
 *
 * <p>Writing: format 1.0, the dict {@code {'descr': …, 'fortran_order': False, 'shape': …, }}, then
 * {@code 21 − len(repr(shape[0]))} spaces so the first axis can grow in place (numpy's {@code
 * GROWTH_AXIS_MAX_DIGITS}), then 1 to 64 spaces and a newline so the data starts on a 64-byte
 * boundary ({@code ARRAY_ALIGN}; numpy pads a full 64 when the header is already aligned), byte for
 * byte as numpy 2.4's {@code np.save}. Reading: versions 1.0, 2.0 and 3.0 (the header is Latin-1,
 * UTF-8 in 3.0); the caller decides which dtypes and orders it accepts.
 *
 * @param descr the dtype string as written, e.g. {@code <f4}
 * @param shape the dimensions; empty for a 0-d array
 * @param fortranOrder whether the data is in Fortran (column-major) order
 * @param dataOffset the byte offset of the first element
 */
public record NpyHeader(String descr, long[] shape, boolean fortranOrder, long dataOffset) {

  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final int ARRAY_ALIGN = 64;
  private static final int GROWTH_AXIS_MAX_DIGITS = 21;
  private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']*)'");
  private static final Pattern ORDER = Pattern.compile("'fortran_order':\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

  public NpyHeader {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /**
   * The magic, version 1.0, header length and header of a C-order array, as np.save writes them.
   */
  public static byte[] encode(String descr, long[] shape) {
    StringBuilder h = new StringBuilder("{'descr': '").append(descr);
    h.append("', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < shape.length; i++) {
      h.append(i == 0 ? "" : ", ").append(shape[i]);
    }
    h.append(shape.length == 1 ? ",)" : ")").append(", }");
    if (shape.length > 0) {
      h.append(" ".repeat(GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length()));
    }
    int preamble = MAGIC.length + 2 + 2;
    int pad = ARRAY_ALIGN - (preamble + h.length() + 1) % ARRAY_ALIGN; // 1..64, as numpy
    byte[] header =
        h.append(" ".repeat(pad)).append('\n').toString().getBytes(StandardCharsets.US_ASCII);
    if (header.length > 0xFFFF) {
      throw new IllegalArgumentException(
          "shape "
              + Arrays.toString(shape)
              + " gives a .npy header of "
              + header.length
              + " bytes, more than format 1.0 holds");
    }
    ByteBuffer b = ByteBuffer.allocate(preamble + header.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length).put(header);
    return b.array();
  }

  /** Reads the header at the start of {@code bytes}; {@code source} names them in messages. */
  public static NpyHeader decode(String source, byte[] bytes) {
    try {
      return read(source, new ByteArrayInputStream(bytes));
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a byte array does not fail to read
    }
  }

  /** Reads the header from {@code in}, leaving it at the first element. */
  public static NpyHeader read(String source, InputStream in) throws IOException {
    byte[] pre = in.readNBytes(8);
    if (pre.length < 8 || !Arrays.equals(Arrays.copyOf(pre, MAGIC.length), MAGIC)) {
      throw new IllegalArgumentException(source + ": not a .npy file (no \\x93NUMPY magic)");
    }
    int major = pre[6];
    long headerLength;
    if (major == 1) {
      byte[] l = in.readNBytes(2);
      if (l.length < 2) {
        throw truncatedHeader(source);
      }
      headerLength = (l[0] & 0xFF) | (l[1] & 0xFF) << 8;
    } else if (major == 2 || major == 3) {
      byte[] l = in.readNBytes(4);
      if (l.length < 4) {
        throw truncatedHeader(source);
      }
      headerLength = ByteBuffer.wrap(l).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFF_FFFFL;
    } else {
      throw new IllegalArgumentException(
          source + ": unsupported .npy format version " + major + "." + pre[7]);
    }
    if (headerLength > Integer.MAX_VALUE - 16) {
      throw truncatedHeader(source);
    }
    byte[] raw = in.readNBytes((int) headerLength);
    if (raw.length != headerLength) {
      throw truncatedHeader(source);
    }
    String header =
        new String(raw, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Matcher d = DESCR.matcher(header);
    Matcher o = ORDER.matcher(header);
    Matcher s = SHAPE.matcher(header);
    if (!d.find() || !o.find() || !s.find()) {
      throw new IllegalArgumentException(
          source + ": .npy header is not a numpy dict: " + header.strip());
    }
    List<Long> dims = new ArrayList<>();
    for (String part : s.group(1).split(",")) {
      if (!part.isBlank()) {
        dims.add(Long.parseLong(part.strip()));
      }
    }
    long offset = 8 + (major == 1 ? 2 : 4) + headerLength;
    return new NpyHeader(
        d.group(1),
        dims.stream().mapToLong(Long::longValue).toArray(),
        o.group(1).equals("True"),
        offset);
  }

  private static IllegalArgumentException truncatedHeader(String source) {
    return new IllegalArgumentException(
        source + ": .npy header runs past the end of the data (truncated?)");
  }
}
