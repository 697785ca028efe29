package io.nanscope.engine.tensor;

import io.nanscope.engine.format.FloatFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A contiguous row-major tensor: a number format, a shape and its storage. Values are stored IN the
 * format (16-bit lanes for FP16/BF16), so reading decodes and writing rounds (nearest-even, the
 * format's default). No math lives here.
 *
 * <p>Storage is a {@link MemorySegment}: a heap array for tensors under 2^31 elements, native
 * memory above, or a memory-mapped file region for weights ({@link #wrap}). Views ({@link
 * #reshape}, {@link #slice}) share storage.
 */
public final class Tensor {

  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
  private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
  private static final ValueLayout.OfShort B16 = ValueLayout.JAVA_SHORT_UNALIGNED;

  private final FloatFormat format;
  private final StorageKind kind;
  private final Shape shape;
  private final MemorySegment segment; // exactly shape.size() elements of kind

  private Tensor(FloatFormat format, Shape shape, MemorySegment segment) {
    this.format = format;
    this.kind = StorageKind.of(format);
    this.shape = shape;
    this.segment = segment;
  }

  /** A zero-filled tensor on the heap (or in native memory past 2^31 elements). */
  public static Tensor zeros(FloatFormat format, Shape shape) {
    StorageKind kind = StorageKind.of(format);
    long n = shape.size();
    MemorySegment seg;
    if (n <= Integer.MAX_VALUE - 8) {
      seg =
          switch (kind) {
            case F64 -> MemorySegment.ofArray(new double[(int) n]);
            case F32 -> MemorySegment.ofArray(new float[(int) n]);
            case BITS16 -> MemorySegment.ofArray(new short[(int) n]);
            case BITS8 -> MemorySegment.ofArray(new byte[(int) n]);
          };
    } else {
      seg = Arena.ofAuto().allocate(Math.multiplyExact(n, kind.bytes()), 64);
    }
    return new Tensor(format, shape, seg);
  }

  /**
   * A tensor over existing storage (for example a memory-mapped safetensors region). The segment
   * must hold exactly {@code shape.size()} elements of the format's storage kind.
   */
  public static Tensor wrap(FloatFormat format, Shape shape, MemorySegment segment) {
    long need = Math.multiplyExact(shape.size(), StorageKind.of(format).bytes());
    if (segment.byteSize() != need) {
      throw new IllegalArgumentException(
          "a "
              + format.name()
              + " tensor of shape "
              + shape
              + " needs "
              + need
              + " bytes, the storage has "
              + segment.byteSize());
    }
    return new Tensor(format, shape, segment);
  }

  /** A new tensor holding {@code values} rounded to {@code format}. */
  public static Tensor of(FloatFormat format, Shape shape, float... values) {
    if (values.length != shape.size()) {
      throw new IllegalArgumentException(
          "shape "
              + shape
              + " has "
              + shape.size()
              + " elements, got "
              + values.length
              + " values");
    }
    Tensor t = zeros(format, shape);
    for (int i = 0; i < values.length; i++) {
      t.set(i, values[i]);
    }
    return t;
  }

  public FloatFormat format() {
    return format;
  }

  public StorageKind storageKind() {
    return kind;
  }

  public Shape shape() {
    return shape;
  }

  public long size() {
    return shape.size();
  }

  /** The storage; element i of a 16-bit tensor is the short at byte offset 2·i. */
  public MemorySegment segment() {
    return segment;
  }

  /** Element {@code i} (flat, row-major) decoded to float (FP64 values are narrowed). */
  public float get(long i) {
    return switch (kind) {
      case F32 -> segment.getAtIndex(F32, i);
      case F64 -> (float) segment.getAtIndex(F64, i);
      case BITS16 -> format.decode16(segment.getAtIndex(B16, i));
      case BITS8 -> decode8(segment.get(ValueLayout.JAVA_BYTE, i));
    };
  }

  /** Element {@code i} as double (exact for every format). */
  public double getDouble(long i) {
    return kind == StorageKind.F64 ? segment.getAtIndex(F64, i) : get(i);
  }

  /** Stores {@code v} rounded to this tensor's format (nearest-even). */
  public void set(long i, float v) {
    switch (kind) {
      case F32 -> segment.setAtIndex(F32, i, format.round(v));
      case F64 -> segment.setAtIndex(F64, i, v);
      case BITS16 -> segment.setAtIndex(B16, i, format.encode16(v));
      case BITS8 -> segment.set(ValueLayout.JAVA_BYTE, i, encode8(v));
    }
  }

  /**
   * Stores {@code v} (FP64 tensors keep it exactly; others round it once, from double, to the
   * format).
   */
  public void setDouble(long i, double v) {
    if (kind == StorageKind.F64) {
      segment.setAtIndex(F64, i, v);
    } else {
      float f = (float) v;
      set(i, f == v ? f : (float) format.round(v)); // one rounding, from double when v is no float
    }
  }

  /** Element at (row, col) of a rank-2 view. */
  public float get(long row, long col) {
    return get(row * shape.cols() + col);
  }

  /** All elements decoded to a new float array (fails above 2^31 elements). */
  public float[] toFloatArray() {
    float[] out = new float[Math.toIntExact(size())];
    if (kind == StorageKind.F32) {
      MemorySegment.copy(segment, F32, 0, out, 0, out.length);
      return out;
    }
    if (kind == StorageKind.BITS16) {
      format.decode16(segment, 0, out, 0, out.length); // bulk, = decode16 per element
      return out;
    }
    for (int i = 0; i < out.length; i++) {
      out[i] = get(i);
    }
    return out;
  }

  /** All elements as doubles (exact for every format; fails above 2^31 elements). */
  public double[] toDoubleArray() {
    if (kind == StorageKind.F64) {
      double[] out = new double[Math.toIntExact(size())];
      MemorySegment.copy(segment, F64, 0, out, 0, out.length);
      return out;
    }
    float[] f = toFloatArray(); // bulk copy or decode, then widen (exact)
    double[] out = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      out[i] = f[i];
    }
    return out;
  }

  /**
   * A new tensor holding {@code values} in {@code format}: exact for FP64, otherwise each value
   * rounded once to the format.
   */
  public static Tensor ofDoubles(FloatFormat format, Shape shape, double... values) {
    if (values.length != shape.size()) {
      throw new IllegalArgumentException(
          "shape "
              + shape
              + " has "
              + shape.size()
              + " elements, got "
              + values.length
              + " values");
    }
    Tensor t = zeros(format, shape);
    if (t.kind == StorageKind.F64) {
      MemorySegment.copy(values, 0, t.segment, F64, 0, values.length);
      return t;
    }
    if (t.kind == StorageKind.BITS8) {
      for (int i = 0; i < values.length; i++) {
        t.setDouble(i, values[i]);
      }
      return t;
    }
    // As setDouble, in bulk: one rounding from double when the value is no float, then set's
    // rounding.
    float[] f = new float[values.length];
    for (int i = 0; i < values.length; i++) {
      double v = values[i];
      float x = (float) v;
      f[i] = x == v ? x : (float) format.round(v);
    }
    t.storeRounded(f);
    return t;
  }

  /**
   * A new tensor holding {@code values} rounded once to {@code format} (nearest-even): the same
   * bits as {@link #ofDoubles} of the widened values, without the double array. {@code values} is
   * used as scratch and overwritten.
   */
  public static Tensor ofFloats(FloatFormat format, Shape shape, float[] values) {
    if (values.length != shape.size()) {
      throw new IllegalArgumentException(
          "shape "
              + shape
              + " has "
              + shape.size()
              + " elements, got "
              + values.length
              + " values");
    }
    Tensor t = zeros(format, shape);
    if (t.kind == StorageKind.F64) {
      for (int i = 0; i < values.length; i++) {
        t.segment.setAtIndex(F64, i, values[i]); // exact
      }
    } else if (t.kind == StorageKind.BITS8) {
      for (int i = 0; i < values.length; i++) {
        t.set(i, values[i]);
      }
    } else {
      t.storeRounded(values);
    }
    return t;
  }

  /** Overwrites every element with {@code values}, rounded to the format. */
  public void copyFrom(float[] values) {
    if (values.length != size()) {
      throw new IllegalArgumentException(
          "expected " + size() + " values for shape " + shape + ", got " + values.length);
    }
    if (kind == StorageKind.F64 || kind == StorageKind.BITS8) {
      for (int i = 0; i < values.length; i++) {
        set(i, values[i]);
      }
      return;
    }
    storeRounded(values.clone());
  }

  /**
   * {@code set(i, f[i])} for every i of an F32 or 16-bit tensor, in bulk; {@code f} is overwritten.
   */
  private void storeRounded(float[] f) {
    if (kind == StorageKind.F32) {
      format.roundInPlace(f, 0, f.length); // bulk, = format.round per element
      MemorySegment.copy(f, 0, segment, F32, 0, f.length);
    } else {
      format.encode16(f, 0, segment, 0, f.length); // bulk, = encode16 per element
    }
  }

  /** The same storage seen with another shape of equal size. */
  public Tensor reshape(Shape newShape) {
    if (newShape.size() != shape.size()) {
      throw new IllegalArgumentException("cannot reshape " + shape + " to " + newShape);
    }
    return new Tensor(format, newShape, segment);
  }

  /** Rows {@code [from, to)} of the first axis, sharing storage. */
  public Tensor slice(long from, long to) {
    long outer = shape.rank() == 0 ? 1 : shape.dim(0);
    if (from < 0 || to < from || to > outer) {
      throw new IllegalArgumentException(
          "slice [" + from + ", " + to + ") is outside the first axis of " + shape);
    }
    long[] dims = shape.dims();
    long inner = outer == 0 ? 0 : shape.size() / outer;
    dims[0] = to - from;
    long b = kind.bytes();
    return new Tensor(
        format, Shape.of(dims), segment.asSlice(from * inner * b, (to - from) * inner * b));
  }

  /** A deep copy in the same format. */
  public Tensor copy() {
    Tensor t = zeros(format, shape);
    MemorySegment.copy(segment, 0, t.segment, 0, segment.byteSize());
    return t;
  }

  /** A copy converted to {@code target}, each value rounded once (nearest-even). */
  public Tensor to(FloatFormat target) {
    if (target == format) {
      return copy();
    }
    Tensor t = zeros(target, shape);
    for (long i = 0; i < size(); i++) {
      if (target == FloatFormat.FP64) {
        t.setDouble(i, getDouble(i));
      } else {
        t.set(i, get(i));
      }
    }
    return t;
  }

  private float decode8(byte b) {
    return format.decode8(b);
  }

  private byte encode8(float v) {
    return format.encode8(v);
  }

  @Override
  public String toString() {
    return "Tensor[" + format.name() + " " + shape + "]";
  }
}
