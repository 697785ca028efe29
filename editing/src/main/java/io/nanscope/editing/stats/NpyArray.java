package io.nanscope.editing.stats;

import io.nanscope.engine.trace.NpyHeader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One array in numpy's {@code .npy} format (NEP 1, versions 1.0–3.0 read, 1.0 written, the header
 * by the engine's {@link NpyHeader}), C order only. Supported dtypes: {@code <f4}, {@code <f8},
 * {@code <i4}, {@code <i8} and 0-d unicode strings {@code <U}n (how numpy stores a Python str, e.g.
 * ROME's {@code mom2.constructor}).
 *
 * <p>The data is kept as little-endian bytes; the typed accessors decode it.
 *
 * @param descr numpy's dtype string, e.g. "&lt;f4"
 * @param shape the dimensions; empty for a 0-d (scalar) array
 * @param data the raw little-endian element bytes, {@code product(shape) * itemsize} of them
 */
public record NpyArray(String descr, long[] shape, byte[] data) {

  public NpyArray {
    shape = shape.clone();
    long n = elementCount(shape);
    if (Math.multiplyExact(n, itemSize(descr)) != data.length) {
      throw new IllegalArgumentException(
          "array of dtype "
              + descr
              + " and shape "
              + Arrays.toString(shape)
              + " needs "
              + n * itemSize(descr)
              + " bytes, got "
              + data.length);
    }
  }

  public static NpyArray ofFloats(float[] values, long... shape) {
    ByteBuffer b =
        ByteBuffer.allocate(Math.multiplyExact(values.length, 4)).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return new NpyArray("<f4", shape, b.array());
  }

  public static NpyArray ofDoubles(double[] values, long... shape) {
    ByteBuffer b =
        ByteBuffer.allocate(Math.multiplyExact(values.length, 8)).order(ByteOrder.LITTLE_ENDIAN);
    b.asDoubleBuffer().put(values);
    return new NpyArray("<f8", shape, b.array());
  }

  /** A 0-d int64 array, as numpy stores a Python int. */
  public static NpyArray ofLong(long value) {
    ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value);
    return new NpyArray("<i8", new long[0], b.array());
  }

  /** A 0-d unicode array, as numpy stores a Python str (UTF-32LE, one code point per 4 bytes). */
  public static NpyArray ofString(String value) {
    int n = value.codePointCount(0, value.length());
    return new NpyArray(
        "<U" + n, new long[0], value.getBytes(java.nio.charset.Charset.forName("UTF-32LE")));
  }

  public static long elementCount(long[] shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  static int itemSize(String descr) {
    return switch (descr) {
      case "<f4", "<i4" -> 4;
      case "<f8", "<i8" -> 8;
      default -> {
        if (descr.startsWith("<U")) {
          yield Math.multiplyExact(4, Integer.parseInt(descr.substring(2)));
        }
        throw new IllegalArgumentException(
            "unsupported numpy dtype '"
                + descr
                + "': nanscope reads <f4, <f8, <i4, <i8 and <U (little-endian)");
      }
    };
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  public float[] floats() {
    require("<f4");
    float[] out = new float[data.length / 4];
    ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  /** The values as doubles, from {@code <f4} (exactly widened) or {@code <f8}. */
  public double[] doubles() {
    if (descr.equals("<f4")) {
      float[] f = floats();
      double[] out = new double[f.length];
      for (int i = 0; i < f.length; i++) {
        out[i] = f[i];
      }
      return out;
    }
    require("<f8");
    double[] out = new double[data.length / 8];
    ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
    return out;
  }

  /** The value of a 0-d (or one-element) integer array. */
  public long longValue() {
    if (data.length != itemSize(descr) || !(descr.equals("<i8") || descr.equals("<i4"))) {
      throw new IllegalArgumentException(
          "expected a single <i8 or <i4 value, got dtype "
              + descr
              + " shape "
              + Arrays.toString(shape));
    }
    ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    return descr.equals("<i8") ? b.getLong() : b.getInt();
  }

  /** The value of a 0-d unicode array (trailing NULs, numpy's padding, removed). */
  public String stringValue() {
    if (!descr.startsWith("<U") || shape.length != 0) {
      throw new IllegalArgumentException(
          "expected a 0-d <U string array, got dtype "
              + descr
              + " shape "
              + Arrays.toString(shape));
    }
    String s = new String(data, java.nio.charset.Charset.forName("UTF-32LE"));
    int end = s.length();
    while (end > 0 && s.charAt(end - 1) == '\0') {
      end--;
    }
    return s.substring(0, end);
  }

  private void require(String expected) {
    if (!descr.equals(expected)) {
      throw new IllegalArgumentException("array has dtype " + descr + ", expected " + expected);
    }
  }

  /** The {@code .npy} bytes numpy's {@code np.save} writes for this array (format 1.0). */
  public byte[] toNpy() {
    byte[] header = NpyHeader.encode(descr, shape);
    byte[] out = Arrays.copyOf(header, Math.addExact(header.length, data.length));
    System.arraycopy(data, 0, out, header.length, data.length);
    return out;
  }

  /** Parses {@code .npy} bytes; {@code source} names them in messages. */
  public static NpyArray fromNpy(String source, byte[] bytes) {
    NpyHeader h = NpyHeader.decode(source, bytes);
    String d = h.descr().replace("|", "<");
    if (d.startsWith(">")) {
      throw new IllegalArgumentException(
          source + ": big-endian dtype " + d + " is not supported; save little-endian");
    }
    long[] dimArray = h.shape();
    if (h.fortranOrder() && dimArray.length > 1) {
      throw new IllegalArgumentException(
          source + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
    }
    long size = Math.multiplyExact(elementCount(dimArray), itemSize(d));
    long dataStart = h.dataOffset();
    if (dataStart + size != bytes.length) {
      throw new IllegalArgumentException(
          source
              + ": .npy data is "
              + (bytes.length - dataStart)
              + " bytes, the header promises "
              + size);
    }
    return new NpyArray(d, dimArray, Arrays.copyOfRange(bytes, (int) dataStart, bytes.length));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NpyArray a
        && descr.equals(a.descr)
        && Arrays.equals(shape, a.shape)
        && Arrays.equals(data, a.data);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * descr.hashCode() + Arrays.hashCode(shape)) + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "NpyArray[" + descr + " " + Arrays.toString(shape) + "]";
  }
}
