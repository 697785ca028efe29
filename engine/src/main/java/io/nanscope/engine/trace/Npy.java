package io.nanscope.engine.trace;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.io.AtomicFile;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * numpy {@code .npy} files (format version 1.0, C order, little-endian): FP32 as {@code '<f4'},
 * FP16 as {@code '<f2'}, FP64 as {@code '<f8'}. BF16, TF32 and FP8 have no numpy dtype, so they are
 * written as {@code '<f4'} (exact: every value of theirs is an FP32 value). The header is {@link
 * NpyHeader}'s, byte for byte as numpy 2.4 writes it, so files compare equal to {@code np.save}'s.
 *
 * <p>The reader accepts versions 1.0, 2.0 and 3.0, the three dtypes above, C order only.
 */
public final class Npy {

  private Npy() {}

  /** Writes {@code t} to {@code file} (temporary file + atomic rename). */
  public static void write(Path file, Tensor t) {
    AtomicFile.write(file, out -> writeTo(out, t));
  }

  /** The bytes of {@code t} as a {@code .npy} file (fails above 2 GB). */
  public static byte[] toBytes(Tensor t) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try {
      writeTo(b, t);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return b.toByteArray();
  }

  /** Reads a {@code .npy} file into a tensor of FP32, FP16 or FP64. */
  public static Tensor read(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return readFrom(in, file.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("could not read " + file + ": " + e.getMessage(), e);
    }
  }

  /** Reads a {@code .npy} image from bytes. */
  public static Tensor fromBytes(byte[] bytes) {
    try {
      return readFrom(new ByteArrayInputStream(bytes), "<bytes>");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String descr(FloatFormat f) {
    if (f == FloatFormat.FP16) {
      return "<f2";
    }
    if (f == FloatFormat.FP64) {
      return "<f8";
    }
    if (f.info().precisionBits() <= 24 && f.info().exponentBits() <= 8) {
      return "<f4"; // FP32 itself, or a narrower format whose every value is an FP32 value
    }
    throw new IllegalArgumentException(
        "no .npy dtype holds every "
            + f.name()
            + " value exactly: convert with tensor.to(FloatFormat.FP64) first");
  }

  private static void writeTo(OutputStream out, Tensor t) throws IOException {
    FloatFormat f = t.format();
    String descr = descr(f);
    out.write(NpyHeader.encode(descr, t.shape().dims()));
    int width = descr.equals("<f2") ? 2 : descr.equals("<f4") ? 4 : 8;
    ByteBuffer buf = ByteBuffer.allocate(8192 * 8).order(ByteOrder.LITTLE_ENDIAN);
    long n = t.size();
    for (long i = 0; i < n; i++) {
      if (buf.remaining() < width) {
        out.write(buf.array(), 0, buf.position());
        buf.clear();
      }
      switch (width) {
        case 2 ->
            buf.putShort(
                t.segment().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i)); // raw FP16 bits
        case 4 -> buf.putFloat(t.get(i));
        default -> buf.putDouble(t.getDouble(i));
      }
    }
    out.write(buf.array(), 0, buf.position());
  }

  private static Tensor readFrom(InputStream in, String name) throws IOException {
    NpyHeader h = NpyHeader.read(name, in);
    if (h.fortranOrder()) {
      throw new IllegalArgumentException(
          name + ": Fortran-order arrays are not supported; save with np.ascontiguousarray(a)");
    }
    Shape shape = Shape.of(h.shape());
    FloatFormat f;
    int width;
    switch (h.descr()) {
      case "<f2" -> {
        f = FloatFormat.FP16;
        width = 2;
      }
      case "<f4" -> {
        f = FloatFormat.FP32;
        width = 4;
      }
      case "<f8" -> {
        f = FloatFormat.FP64;
        width = 8;
      }
      default ->
          throw new IllegalArgumentException(
              name
                  + ": dtype '"
                  + h.descr()
                  + "' is not supported; expected '<f2', '<f4' or '<f8' (use a.astype('<f4'))");
    }
    Tensor t = Tensor.zeros(f, shape);
    long n = shape.size();
    byte[] chunk = new byte[8192 * width];
    long i = 0;
    while (i < n) {
      int want = (int) Math.min(chunk.length / width, n - i);
      int got = in.readNBytes(chunk, 0, want * width);
      if (got != want * width) {
        throw new IllegalArgumentException(
            name
                + " is truncated: expected "
                + n
                + " elements of "
                + h.descr()
                + " for shape "
                + shape);
      }
      ByteBuffer b = ByteBuffer.wrap(chunk, 0, got).order(ByteOrder.LITTLE_ENDIAN);
      for (int k = 0; k < want; k++, i++) {
        switch (width) {
          case 2 -> t.segment().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, b.getShort());
          case 4 -> t.set(i, b.getFloat());
          default -> t.setDouble(i, b.getDouble());
        }
      }
    }
    return t;
  }
}
