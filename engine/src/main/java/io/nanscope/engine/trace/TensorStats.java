package io.nanscope.engine.trace;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.StatsKernels;
import io.nanscope.engine.tensor.StorageKind;
import io.nanscope.engine.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What a tensor holds, seen against the limits of a number format: the numbers behind the per-site
 * headroom table and the first-overflow report.
 *
 * <p>{@code headroom = log2(maxFinite / max|x|)} in binades: 0 means the largest value sits at the
 * format's maximum, negative means it would not fit. Counts are per element. {@code overflow} and
 * {@code underflow} compare the stored output with its unrounded FP32 value and are only meaningful
 * when {@link #hasUnrounded()}: overflow = finite before rounding, ±inf after (NaN for formats
 * without infinity, or ±maxFinite when round-to-nearest would have overflowed: saturation);
 * underflow = non-zero before rounding, zero after.
 *
 * @param format the format the values are stored in (limits and subnormals are judged in it)
 * @param count number of elements
 * @param maxAbs largest finite |x| (0 when there is none)
 * @param minAbsNonZero smallest finite non-zero |x| (0 when there is none)
 * @param nan NaN count
 * @param posInf +inf count
 * @param negInf −inf count
 * @param subnormal count of non-zero finite values below the format's minNormal
 * @param zero count of ±0
 * @param hasUnrounded whether the unrounded values were seen (overflow/underflow are 0 otherwise)
 * @param overflow finite before rounding, ±inf or saturated after
 * @param underflow non-zero before rounding, zero after
 * @param unroundedMaxAbs largest finite |x| before rounding (NaN without unrounded values): the
 *     value that crossed the limit, e.g. 66,975 for an FP16 output that became inf
 */
public record TensorStats(
    FloatFormat format,
    long count,
    double maxAbs,
    double minAbsNonZero,
    long nan,
    long posInf,
    long negInf,
    long subnormal,
    long zero,
    boolean hasUnrounded,
    long overflow,
    long underflow,
    double unroundedMaxAbs) {

  /** Stats of a tensor as stored, without overflow/underflow (no unrounded values). */
  public static TensorStats of(Tensor t) {
    return of(t, null);
  }

  /**
   * Stats of {@code output} in its format; with {@code unrounded} (same size, any format, usually
   * FP32; may be null) also the overflow and underflow counts. One pass over both.
   */
  public static TensorStats of(Tensor output, Tensor unrounded) {
    long n = output.size();
    if (unrounded != null && unrounded.size() != n) {
      throw new IllegalArgumentException(
          "the unrounded tensor has "
              + unrounded.size()
              + " elements but the output "
              + n
              + ": pass the op's own pre-rounding values, shape "
              + output.shape());
    }
    Accumulator acc = new Accumulator(output.format(), unrounded != null);
    boolean exact64 =
        output.storageKind() == StorageKind.F64
            || (unrounded != null && unrounded.storageKind() == StorageKind.F64);
    if (exact64) { // FP64 references: element by element, no narrowing
      for (long i = 0; i < n; i++) {
        if (unrounded == null) {
          acc.add(output.getDouble(i));
        } else {
          acc.add(output.getDouble(i), unrounded.getDouble(i));
        }
      }
      return acc.build();
    }
    FloatFormat f = output.format();
    double maxFinite = f.info().maxFinite(), minNormal = f.info().minNormal();
    if ((float) maxFinite == maxFinite && (float) minNormal == minNormal) {
      return census(output, unrounded, (float) maxFinite, (float) minNormal);
    }
    return scalar(output, unrounded);
  }

  /**
   * The element-by-element pass (the vector census's oracle in the tests); any non-FP64 storage.
   */
  static TensorStats scalar(Tensor output, Tensor unrounded) {
    long n = output.size();
    Accumulator acc = new Accumulator(output.format(), unrounded != null);
    // Decode CHUNK elements at a time into float buffers, then one tight loop per chunk.
    float[] x = new float[(int) Math.min(CHUNK, n)];
    float[] u = unrounded == null ? null : new float[x.length];
    for (long from = 0; from < n; from += CHUNK) {
      int len = (int) Math.min(CHUNK, n - from);
      decode(output, from, x, len);
      if (u == null) {
        for (int k = 0; k < len; k++) {
          acc.add(x[k]);
        }
      } else {
        decode(unrounded, from, u, len);
        for (int k = 0; k < len; k++) {
          acc.add(x[k], u[k]);
        }
      }
    }
    return acc.build();
  }

  private static final int CHUNK = 4096;

  /**
   * {@link #of(Tensor, Tensor)} through the vector kernels, for a format whose limits are floats:
   * the same counts and extremes as the scalar {@link Accumulator} (every value is a float, so the
   * comparisons in FP32 decide as they do in double). Each block of {@link #CHUNK} elements is
   * first offered to the bit census ({@link StatsKernels#census16} on FP16/BF16 storage, {@link
   * StatsKernels#census32} on FP32 storage without unrounded values), which reads the stored bits
   * without decoding them and counts the block if it is common (all finite, nothing beyond
   * maxFinite before rounding). Any other block is decoded and counted by {@link StatsKernels#add};
   * a block holding a saturation candidate is decided there with the format's own rounding, as the
   * Accumulator does.
   */
  private static TensorStats census(
      Tensor output, Tensor unrounded, float maxFinite, float minNormal) {
    FloatFormat f = output.format();
    long n = output.size();
    boolean hasInfinity = f.info().hasInfinity();
    StatsKernels.Census c = new StatsKernels.Census();
    StatsKernels.BitCensus bc = new StatsKernels.BitCensus();
    // The bit census's sources: heap arrays read in place, or chunk copies for other storage.
    boolean bits16 =
        output.storageKind() == StorageKind.BITS16
            && (f == FloatFormat.FP16 || f == FloatFormat.BF16)
            && (unrounded == null || unrounded.storageKind() == StorageKind.F32);
    boolean bits32 = output.storageKind() == StorageKind.F32 && unrounded == null;
    int inf16 = 0, minNormal16 = 0;
    if (bits16) {
      inf16 = f.encode16(Float.POSITIVE_INFINITY) & 0x7fff;
      minNormal16 = f.encode16(minNormal) & 0x7fff;
    }
    int minNormal32 = Float.floatToRawIntBits(minNormal);
    int maxFiniteU = Float.floatToRawIntBits(maxFinite);
    HeapView xs = bits16 || bits32 ? HeapView.of(output) : null;
    HeapView us = bits16 && unrounded != null ? HeapView.of(unrounded) : null;
    float[] x = null, u = null; // decode buffers, for the blocks the bit census refuses
    for (long from = 0; from < n; from += CHUNK) {
      int len = (int) Math.min(CHUNK, n - from);
      if (bits16) {
        short[] xb = xs.shorts(output, from, len);
        int xo = xs.offset(from);
        boolean common =
            us == null
                ? StatsKernels.census16(xb, xo, len, inf16, minNormal16, bc)
                : StatsKernels.census16(
                    xb,
                    xo,
                    us.floats(unrounded, from, len),
                    us.offset(from),
                    len,
                    inf16,
                    minNormal16,
                    maxFiniteU,
                    bc);
        if (common) {
          continue;
        }
      } else if (bits32) {
        if (StatsKernels.census32(
            xs.floats(output, from, len), xs.offset(from), len, minNormal32, bc)) {
          continue;
        }
      }
      if (x == null) {
        x = new float[(int) Math.min(CHUNK, n)];
        u = unrounded == null ? null : new float[x.length];
      }
      decode(output, from, x, len);
      if (u != null) {
        decode(unrounded, from, u, len);
      }
      StatsKernels.add(x, u, len, maxFinite, minNormal, hasInfinity, c);
      if (c.saturationCandidates > 0) {
        for (int k = 0; k < len; k++) {
          float au = Math.abs(u[k]);
          if (Math.abs(x[k]) == maxFinite
              && au > maxFinite
              && au < Float.POSITIVE_INFINITY
              && !Double.isFinite(f.round((double) u[k]))) {
            c.overflow++;
          }
        }
        c.saturationCandidates = 0;
      }
    }
    // The common blocks' census joins the others': magnitude bits decoded once (exact).
    c.count += bc.count;
    c.zero += bc.zero;
    c.subnormal += bc.below - bc.zero;
    c.underflow += bc.underflow;
    if (bc.topX >= 0) {
      c.maxAbs = Math.max(c.maxAbs, magnitude(f, bits16, bc.topX));
    }
    if (bc.minNonZero != Integer.MAX_VALUE) {
      c.minAbsNonZero = Math.min(c.minAbsNonZero, magnitude(f, bits16, bc.minNonZero));
    }
    if (bc.topU >= 0) {
      c.unroundedMaxAbs = Math.max(c.unroundedMaxAbs, Float.intBitsToFloat(bc.topU));
    }
    boolean withU = unrounded != null;
    return new TensorStats(
        f,
        c.count,
        c.maxAbs,
        c.minAbsNonZero == Float.POSITIVE_INFINITY ? 0 : c.minAbsNonZero,
        c.nan,
        c.posInf,
        c.negInf,
        c.subnormal,
        c.zero,
        withU,
        withU ? c.overflow : 0,
        withU ? c.underflow : 0,
        withU && c.unroundedMaxAbs >= 0 ? c.unroundedMaxAbs : Double.NaN);
  }

  /**
   * The stats of a tensor of format {@code f} whose values, as floats, were counted by the bit
   * census ({@link StatsKernels#census32} on each block, every block common) and whose unrounded
   * values, if it has any ({@code withUnrounded}), are those same floats: an op output already
   * rounded to its format and reported as it is (attention's P). Then nothing overflowed or
   * underflowed and the largest unrounded magnitude is the largest stored one: the record {@link
   * #of(Tensor, Tensor)} gives for that output and unrounded tensor.
   */
  public static TensorStats ofStoredFloats(
      FloatFormat f, StatsKernels.BitCensus c, boolean withUnrounded) {
    double max = c.topX >= 0 ? Float.intBitsToFloat(c.topX) : 0;
    return new TensorStats(
        f,
        c.count,
        max,
        c.minNonZero == Integer.MAX_VALUE ? 0 : Float.intBitsToFloat(c.minNonZero),
        0,
        0,
        0,
        c.below - c.zero,
        c.zero,
        withUnrounded,
        0,
        0,
        withUnrounded && c.count > 0 ? max : Double.NaN);
  }

  /** The value of magnitude bits of {@code f}'s 16-bit storage, or of a float. */
  private static float magnitude(FloatFormat f, boolean bits16, int bits) {
    return bits16 ? f.decode16((short) bits) : Float.intBitsToFloat(bits);
  }

  /**
   * A tensor's storage as the heap array behind it (read in place, at the tensor's offset in it),
   * or, for other storage, chunk copies into a scratch array.
   */
  private static final class HeapView {
    private final Object array; // short[] or float[], or null: copy chunks
    private final int base; // element index of the tensor's first element in array
    private short[] shortScratch;
    private float[] floatScratch;

    private HeapView(Object array, int base) {
      this.array = array;
      this.base = base;
    }

    static HeapView of(Tensor t) {
      MemorySegment seg = t.segment();
      Object a = seg.heapBase().orElse(null);
      int width = t.storageKind() == StorageKind.F32 ? Float.BYTES : Short.BYTES;
      boolean usable =
          (a instanceof short[] && width == Short.BYTES)
              || (a instanceof float[] && width == Float.BYTES);
      if (!usable || seg.address() % width != 0) {
        return new HeapView(null, 0);
      }
      return new HeapView(a, (int) (seg.address() / width));
    }

    /** Index in the returned array of element {@code from}. */
    int offset(long from) {
      return array == null ? 0 : (int) (base + from);
    }

    short[] shorts(Tensor t, long from, int len) {
      if (array != null) {
        return (short[]) array;
      }
      if (shortScratch == null) {
        shortScratch = new short[CHUNK];
      }
      MemorySegment.copy(
          t.segment(), ValueLayout.JAVA_SHORT_UNALIGNED, 2 * from, shortScratch, 0, len);
      return shortScratch;
    }

    float[] floats(Tensor t, long from, int len) {
      if (array != null) {
        return (float[]) array;
      }
      if (floatScratch == null) {
        floatScratch = new float[CHUNK];
      }
      MemorySegment.copy(
          t.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * from, floatScratch, 0, len);
      return floatScratch;
    }
  }

  /**
   * {NaN count, ±inf count} of {@code t} as stored: the anomaly tracer's one pass over every op
   * output. Non-FP64 storage is decoded to floats in chunks (exact) and counted by the vector
   * kernel; FP64 storage element by element (narrowing a large finite double to float would make an
   * infinity).
   */
  static long[] nanAndInf(Tensor t) {
    long n = t.size();
    long[] counts = new long[2];
    if (t.storageKind() == StorageKind.F64) {
      for (long i = 0; i < n; i++) {
        double x = t.getDouble(i);
        if (Double.isNaN(x)) {
          counts[0]++;
        } else if (Double.isInfinite(x)) {
          counts[1]++;
        }
      }
      return counts;
    }
    float[] x = new float[(int) Math.min(CHUNK, n)];
    for (long from = 0; from < n; from += CHUNK) {
      int len = (int) Math.min(CHUNK, n - from);
      decode(t, from, x, len);
      StatsKernels.countNonFinite(x, len, counts);
    }
    return counts;
  }

  /** Elements [from, from + len) of {@code t} as floats (exact for every non-FP64 format). */
  private static void decode(Tensor t, long from, float[] buf, int len) {
    MemorySegment seg = t.segment();
    if (t.storageKind() == StorageKind.F32) {
      MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT_UNALIGNED, from * Float.BYTES, buf, 0, len);
    } else if (t.storageKind() == StorageKind.BITS16) {
      t.format().decode16(seg, 2 * from, buf, 0, len); // bulk, exact
    } else {
      for (int k = 0; k < len; k++) {
        buf[k] = t.get(from + k);
      }
    }
  }

  /**
   * Stats the values of {@code t} would have if they were rounded to {@code target} (nearest-even,
   * overflow to inf): for teaching, "what FP16 would do to this FP32 activation". Overflow and
   * underflow count what that rounding would lose. {@code target} must be a format that {@link
   * FloatFormat#round(float)} supports (FP32, FP16, BF16).
   */
  public static TensorStats ifRoundedTo(Tensor t, FloatFormat target) {
    Accumulator acc = new Accumulator(target, true);
    long n = t.size();
    for (long i = 0; i < n; i++) {
      float u = t.get(i);
      acc.add(target.round(u), u);
    }
    return acc.build();
  }

  /** Number of ±inf values. */
  public long infinities() {
    return posInf + negInf;
  }

  /** Number of NaN and ±inf values. */
  public long nonFinite() {
    return nan + posInf + negInf;
  }

  /** Headroom in this tensor's own format: {@code log2(maxFinite / max|x|)}. */
  public double headroom() {
    return headroomIn(format);
  }

  /**
   * Headroom of these values in any format, in binades: {@code log2(other.maxFinite / max|x|)};
   * −inf when the tensor already holds an infinity, +inf when every value is zero, NaN when the
   * only values besides zeros are NaN (nothing finite to measure).
   */
  public double headroomIn(FloatFormat other) {
    if (infinities() > 0) {
      return Double.NEGATIVE_INFINITY;
    }
    if (maxAbs == 0) {
      return nan > 0 ? Double.NaN : Double.POSITIVE_INFINITY;
    }
    return Math.log(other.info().maxFinite() / maxAbs) / Math.log(2);
  }

  /**
   * Combines the stats of two tensors in the same format (for a site seen at many steps): counts
   * add, extremes combine; overflow/underflow are known only if both sides had unrounded values.
   */
  public TensorStats merge(TensorStats o) {
    if (o.format != format) {
      throw new IllegalArgumentException(
          "cannot merge stats in " + format + " with stats in " + o.format + ": merge per format");
    }
    double minNz;
    if (minAbsNonZero == 0) {
      minNz = o.minAbsNonZero;
    } else if (o.minAbsNonZero == 0) {
      minNz = minAbsNonZero;
    } else {
      minNz = Math.min(minAbsNonZero, o.minAbsNonZero);
    }
    boolean both = hasUnrounded && o.hasUnrounded;
    return new TensorStats(
        format,
        count + o.count,
        Math.max(maxAbs, o.maxAbs),
        minNz,
        nan + o.nan,
        posInf + o.posInf,
        negInf + o.negInf,
        subnormal + o.subnormal,
        zero + o.zero,
        both,
        both ? overflow + o.overflow : 0,
        both ? underflow + o.underflow : 0,
        both ? maxIgnoringNaN(unroundedMaxAbs, o.unroundedMaxAbs) : Double.NaN);
  }

  /**
   * The stats as a JSON object, with the headroom in this format and in FP16 and BF16 ({@code
   * headroom}, {@code headroom_fp16}, {@code headroom_bf16}).
   */
  public Json toJson() {
    return Json.object()
        .put("format", format.name())
        .put("count", count)
        .put("max_abs", maxAbs)
        .put("min_abs_nonzero", minAbsNonZero)
        .put("headroom", headroom())
        .put("headroom_fp16", headroomIn(FloatFormat.FP16))
        .put("headroom_bf16", headroomIn(FloatFormat.BF16))
        .put("nan", nan)
        .put("pos_inf", posInf)
        .put("neg_inf", negInf)
        .put("subnormal", subnormal)
        .put("zero", zero)
        .put("has_unrounded", hasUnrounded)
        .put("overflow", overflow)
        .put("underflow", underflow)
        .put("unrounded_max_abs", unroundedMaxAbs);
  }

  /**
   * Where round-to-nearest-even starts to overflow: maxFinite plus half an ulp of the top binade,
   * {@code maxFinite + 2^(exponent(maxFinite) − p)} — 65,520 for FP16, 61,440 for FP8 E5M2, 464 for
   * FP8 E4M3FN. Whether the threshold itself overflows depends on the tie rule: see {@link
   * #thresholdOverflows(FloatFormat)}.
   */
  public static double overflowThreshold(FloatFormat f) {
    double max = f.info().maxFinite();
    return max + Math.scalb(1.0, Math.getExponent(max) - f.info().precisionBits());
  }

  /**
   * Whether the threshold itself rounds past maxFinite: true for IEEE formats (maxFinite has an odd
   * last mantissa bit, so the tie goes up: FP16's 65,520 becomes inf), false for E4M3FN (448 is
   * even, so 464 rounds down to 448). Decided by the format's own rounding.
   */
  public static boolean thresholdOverflows(FloatFormat f) {
    return !Double.isFinite(f.round(overflowThreshold(f)));
  }

  private static double maxIgnoringNaN(double a, double b) {
    if (Double.isNaN(a)) {
      return b;
    }
    return Double.isNaN(b) ? a : Math.max(a, b);
  }

  /** One-pass counter shared by {@link #of} and {@link #ifRoundedTo}. */
  private static final class Accumulator {
    private final FloatFormat format;
    private final double maxFinite;
    private final boolean hasInfinity;
    private final double minNormal;
    private final boolean withUnrounded;
    private long count;
    private double maxAbs;
    private double minAbsNonZero = Double.POSITIVE_INFINITY;
    private long nan;
    private long posInf;
    private long negInf;
    private long subnormal;
    private long zero;
    private long overflow;
    private long underflow;
    private double unroundedMaxAbs = Double.NaN;

    Accumulator(FloatFormat format, boolean withUnrounded) {
      this.format = format;
      this.maxFinite = format.info().maxFinite();
      this.hasInfinity = format.info().hasInfinity();
      this.minNormal = format.info().minNormal();
      this.withUnrounded = withUnrounded;
    }

    void add(double x) {
      count++;
      if (Double.isNaN(x)) {
        nan++;
        return;
      }
      if (Double.isInfinite(x)) {
        if (x > 0) {
          posInf++;
        } else {
          negInf++;
        }
        return;
      }
      double a = Math.abs(x);
      if (a == 0) {
        zero++;
        return;
      }
      if (a > maxAbs) {
        maxAbs = a;
      }
      if (a < minAbsNonZero) {
        minAbsNonZero = a;
      }
      if (a < minNormal) {
        subnormal++;
      }
    }

    void add(double x, double u) {
      add(x);
      if (Double.isNaN(u) || Double.isInfinite(u)) {
        return;
      }
      double au = Math.abs(u);
      if (Double.isNaN(unroundedMaxAbs) || au > unroundedMaxAbs) {
        unroundedMaxAbs = au;
      }
      double ax = Math.abs(x);
      if (Double.isInfinite(x)
          || (Double.isNaN(x) && !hasInfinity) // E4M3FN: an IEEE overflow gives NaN
          || (ax == maxFinite && au > maxFinite && !Double.isFinite(format.round(u)))) {
        // The last case is saturation: counted only where round-to-nearest would have overflowed,
        // since values just above maxFinite round down to it legitimately.
        overflow++;
      } else if (x == 0 && au != 0) {
        underflow++;
      }
    }

    TensorStats build() {
      return new TensorStats(
          format,
          count,
          maxAbs,
          minAbsNonZero == Double.POSITIVE_INFINITY ? 0 : minAbsNonZero,
          nan,
          posInf,
          negInf,
          subnormal,
          zero,
          withUnrounded,
          overflow,
          underflow,
          unroundedMaxAbs);
    }
  }
}
