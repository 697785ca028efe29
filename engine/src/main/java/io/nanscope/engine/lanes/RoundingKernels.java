package io.nanscope.engine.lanes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Bulk FP32 ↔ FP16/BF16 conversion and in-place rounding, nearest-even with IEEE overflow and
 * subnormals kept, on integer lanes (the Vector API has no half-float conversion).
 *
 * <p>Every kernel is the vector form of one scalar twin below ({@link #fp16Encode(float)}, {@link
 * #fp16Decode(short)}, {@link #bf16Encode(float)}, {@link #bf16Decode(short)}); the twin handles
 * the tails and is the tests' oracle. NaN becomes the canonical quiet NaN ({@code 0x7E00}, {@code
 * 0x7FC0}; sign and payload dropped), decoding is exact (a NaN keeps its payload and becomes quiet,
 * as {@link Float#float16ToFloat} does on x86).
 *
 * <p>Segments hold native-order values; offsets are in bytes, counts in elements.
 */
public final class RoundingKernels {

  private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

  /** Same lane count as {@link #I} with 16-bit lanes. */
  private static final VectorSpecies<Short> S =
      VectorSpecies.of(short.class, VectorShape.forBitSize(I.vectorBitSize() / 2));

  /** Elements per block of the two-pass array kernels: 8 KB of floats, well inside L1. */
  private static final int BLOCK = 2048;

  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  private static final ValueLayout.OfFloat FLOAT =
      ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);
  private static final ValueLayout.OfShort SHORT =
      ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ORDER);

  // FP32 bit patterns (magnitudes) that bound the FP16 cases, from Binary16.FP16's widths. Static
  // final, so C2 folds them into the lane bodies as immediates.
  /** 2^-14, FP16 minNormal: below it the result is subnormal or zero. */
  private static final int F16_MIN_NORMAL = Binary16.FP16.minNormalBits();

  /** 65520 = 65504 + ulp/2: from here on nearest-even gives infinity. */
  private static final int F16_OVERFLOW = Binary16.FP16.overflowBits();

  /** 0x0FFF: added with the lowest kept bit, rounds the 13 dropped bits to nearest-even. */
  private static final int F16_BELOW_HALF = Binary16.FP16.belowHalf();

  private static final int F16_DROPPED = Binary16.FP16.droppedBits();

  /** 0x7E00, FP16's canonical quiet NaN. */
  private static final short F16_NAN = Binary16.FP16.quietNaN();

  /** 0x7FFF: the BF16 counterpart of {@link #F16_BELOW_HALF} (16 dropped bits). */
  private static final int BF16_BELOW_HALF = Binary16.BF16.belowHalf();

  private static final int BF16_DROPPED = Binary16.BF16.droppedBits();

  /** 0x7FC0, BF16's canonical quiet NaN. */
  private static final short BF16_NAN = Binary16.BF16.quietNaN();

  /** 0x7C00, FP16's +infinity. */
  private static final int F16_INF = Binary16.FP16.infBits();

  private static final int F32_INF = 0x7F800000;

  /** FP32's canonical quiet NaN. */
  private static final int F32_NAN = 0x7FC00000;

  /** FP32 quiet-NaN bit. */
  private static final int QUIET = 0x00400000;

  /** (127 - 15) << 23: rebiases an FP32 exponent to FP16. */
  private static final int REBIAS = Binary16.FP16.rebias();

  /**
   * 0.5f: adding it to |x| < 2^-14 rounds |x| to a multiple of 2^-24 (the ulp of 0.5f),
   * nearest-even.
   */
  private static final int HALF = Binary16.FP16.subnormalRounderBits();

  private static final float HALF_F = Float.intBitsToFloat(HALF);

  // The FP16 and BF16 loops below are written out separately on purpose: selecting the lane body
  // with a flag inside one loop merges two vector values in a phi, which C2 boxes (measured 5-20x
  // slower), so each loop names its lane body directly.

  private RoundingKernels() {}

  // ---------------------------------------------------------------- scalar twins

  /** FP32 → FP16 bits, nearest-even, IEEE overflow, NaN → 0x7E00. */
  public static short fp16Encode(float x) {
    int b = Float.floatToRawIntBits(x);
    int a = b & 0x7FFFFFFF;
    int sign = (b >>> 16) & 0x8000;
    int h;
    if (a > F32_INF) {
      return F16_NAN;
    } else if (a >= F16_OVERFLOW) {
      h = F16_INF;
    } else if (a >= F16_MIN_NORMAL) {
      // Round the low 13 bits to nearest-even; a carry moves into the exponent correctly.
      h = (a - REBIAS + F16_BELOW_HALF + ((a >>> F16_DROPPED) & 1)) >>> F16_DROPPED;
    } else {
      h = Float.floatToRawIntBits(Float.intBitsToFloat(a) + HALF_F) - HALF;
    }
    return (short) (h | sign);
  }

  /**
   * FP32 → nearest FP16 value, as a float: {@code fp16Decode(fp16Encode(x))} without leaving the
   * FP32 encoding (round the low 13 bits; below 2^-14 round to a multiple of 2^-24 by adding and
   * subtracting 0.5f, whose ulp is 2^-24). NaN → {@code 0x7FC00000}.
   */
  public static float fp16Round(float x) {
    int b = Float.floatToRawIntBits(x);
    int a = b & 0x7FFFFFFF;
    int r;
    if (a > F32_INF) {
      return Float.intBitsToFloat(F32_NAN);
    } else if (a >= F16_OVERFLOW) {
      r = F32_INF;
    } else if (a >= F16_MIN_NORMAL) {
      r = (a + F16_BELOW_HALF + ((a >>> F16_DROPPED) & 1)) & -(1 << F16_DROPPED);
    } else {
      r = Float.floatToRawIntBits((Float.intBitsToFloat(a) + HALF_F) - HALF_F);
    }
    return Float.intBitsToFloat(r | (b & 0x80000000));
  }

  /** FP16 bits → FP32, exact. */
  public static float fp16Decode(short bits) {
    int h = bits & 0xFFFF;
    int sign = (h & 0x8000) << 16;
    int m = h & 0x7FFF;
    int o = m << 13;
    int exp = m & 0x7C00;
    if (exp == 0x7C00) {
      // inf / NaN: exponent field all ones, payload kept, NaN made quiet (as x86 vcvtph2ps does)
      o += 0x70000000;
      if ((m & 0x3FF) != 0) {
        o |= QUIET;
      }
    } else if (exp == 0) {
      // subnormal or zero: (2^-14 + m·2^-24) - 2^-14, exact
      o =
          Float.floatToRawIntBits(
              Float.intBitsToFloat(o + F16_MIN_NORMAL) - Float.intBitsToFloat(F16_MIN_NORMAL));
    } else {
      o += REBIAS;
    }
    return Float.intBitsToFloat(o | sign);
  }

  /** FP32 → BF16 bits, nearest-even, IEEE overflow, NaN → 0x7FC0. */
  public static short bf16Encode(float x) {
    int b = Float.floatToRawIntBits(x);
    if ((b & 0x7FFFFFFF) > F32_INF) {
      return BF16_NAN;
    }
    // Round the low 16 bits to nearest-even; a carry out of the largest binade gives infinity.
    return (short) ((b + BF16_BELOW_HALF + ((b >>> BF16_DROPPED) & 1)) >>> BF16_DROPPED);
  }

  /** BF16 bits → FP32, exact. */
  public static float bf16Decode(short bits) {
    return Float.intBitsToFloat((bits & 0xFFFF) << 16);
  }

  // ---------------------------------------------------------------- lane bodies
  //
  // Each vector loop below writes its lane body out in full instead of calling a helper that takes
  // or returns a vector. A helper is a method of its own: while its callers still run in C1 it is
  // called once per vector, so C2 may compile it alone first, with its vector arguments boxed and
  // its Vector API calls not intrinsified (a large method), and then refuse to inline it into the
  // callers it compiles later ("already compiled into a big method"). Whether that happens depends
  // on which compilation finishes first, so it differed from JVM to JVM: a pytorch-bf16 forward
  // took 49-53 ms instead of 31-35 in about half the JVMs, a third of it in IntVector.blendTemplate
  // under a boxed bf16 lane body (docs/lab/2026-12-07-stats-census.md, "One JVM in two"). The JDK's
  // own Vector API methods are force-inlined, so a loop that calls only them compiles as one unit.
  // The scalar twins above state what each body computes.

  // ---------------------------------------------------------------- FP16 bulk

  /**
   * {@code dst[dstOff + i] = fp16Encode(src[srcOff + i])} for {@code i < n}. Array to array, the
   * plain {@link Float#floatToFloat16} loop (a HotSpot intrinsic that C2 vectorises to vcvtps2ph)
   * followed by a NaN-canonicalising pass over the shorts beats the lane body of {@link
   * #fp16Encode(float[], int, MemorySegment, long, int)} in cache (see RoundingBench); a NaN test
   * inside that loop would stop C2 from vectorising it.
   */
  public static void fp16Encode(float[] src, int srcOff, short[] dst, int dstOff, int n) {
    for (int start = 0;
        start < n;
        start += BLOCK) { // block: the NaN pass reads from L1, not memory
      int end = Math.min(n, start + BLOCK);
      for (int i = start; i < end; i++) {
        dst[dstOff + i] = Float.floatToFloat16(src[srcOff + i]);
      }
      int i = start;
      for (int bound = start + S.loopBound(end - start); i < bound; i += S.length()) {
        ShortVector h = ShortVector.fromArray(S, dst, dstOff + i);
        h.blend(F16_NAN, h.and((short) 0x7FFF).compare(VectorOperators.GT, (short) F16_INF))
            .intoArray(dst, dstOff + i);
      }
      for (; i < end; i++) {
        if ((dst[dstOff + i] & 0x7FFF) > F16_INF) {
          dst[dstOff + i] = F16_NAN;
        }
      }
    }
  }

  /**
   * Encodes {@code n} floats into 16-bit lanes of {@code dst} starting at byte {@code dstByteOff}.
   */
  public static void fp16Encode(
      float[] src, int srcOff, MemorySegment dst, long dstByteOff, int n) {
    int i = 0;
    for (int bound = I.loopBound(n); i < bound; i += I.length()) {
      IntVector b = FloatVector.fromArray(F, src, srcOff + i).reinterpretAsInts();
      // fp16Encode(float) per lane
      IntVector a = b.and(0x7FFFFFFF);
      IntVector sign = b.lanewise(VectorOperators.LSHR, 16).and(0x8000);
      IntVector normal =
          a.sub(REBIAS - F16_BELOW_HALF)
              .add(a.lanewise(VectorOperators.LSHR, F16_DROPPED).and(1))
              .lanewise(VectorOperators.LSHR, F16_DROPPED);
      IntVector sub = a.reinterpretAsFloats().add(HALF_F).reinterpretAsInts().sub(HALF);
      IntVector h = normal.blend(sub, a.lt(F16_MIN_NORMAL));
      h = h.blend(F16_INF, a.compare(VectorOperators.GE, F16_OVERFLOW)).or(sign);
      h = h.blend(F16_NAN, a.compare(VectorOperators.GT, F32_INF));
      ((ShortVector) h.convertShape(VectorOperators.I2S, S, 0))
          .intoMemorySegment(dst, dstByteOff + 2L * i, ORDER);
    }
    for (; i < n; i++) {
      dst.set(SHORT, dstByteOff + 2L * i, fp16Encode(src[srcOff + i]));
    }
  }

  /** {@code dst[dstOff + i] = fp16Decode(src[srcOff + i])} for {@code i < n}. */
  public static void fp16Decode(short[] src, int srcOff, float[] dst, int dstOff, int n) {
    int i = 0;
    for (int bound = I.loopBound(n); i < bound; i += I.length()) {
      IntVector h =
          (IntVector)
              ShortVector.fromArray(S, src, srcOff + i)
                  .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
      // fp16Decode(short) per lane
      IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
      IntVector m = h.and(0x7FFF);
      IntVector o = m.lanewise(VectorOperators.LSHL, 13);
      IntVector exp = m.and(0x7C00);
      IntVector sub =
          o.add(F16_MIN_NORMAL)
              .reinterpretAsFloats()
              .sub(Float.intBitsToFloat(F16_MIN_NORMAL))
              .reinterpretAsInts();
      IntVector r = o.add(REBIAS);
      IntVector infNan = o.add(0x70000000);
      infNan = infNan.blend(infNan.or(QUIET), m.and(0x3FF).compare(VectorOperators.NE, 0));
      r = r.blend(infNan, exp.eq(0x7C00));
      r = r.blend(sub, exp.eq(0));
      r.or(sign).reinterpretAsFloats().intoArray(dst, dstOff + i);
    }
    for (; i < n; i++) {
      dst[dstOff + i] = fp16Decode(src[srcOff + i]);
    }
  }

  /** Decodes {@code n} 16-bit lanes of {@code src} starting at byte {@code srcByteOff}. */
  public static void fp16Decode(
      MemorySegment src, long srcByteOff, float[] dst, int dstOff, int n) {
    int i = 0;
    for (int bound = I.loopBound(n); i < bound; i += I.length()) {
      IntVector h =
          (IntVector)
              ShortVector.fromMemorySegment(S, src, srcByteOff + 2L * i, ORDER)
                  .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
      // fp16Decode(short) per lane
      IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
      IntVector m = h.and(0x7FFF);
      IntVector o = m.lanewise(VectorOperators.LSHL, 13);
      IntVector exp = m.and(0x7C00);
      IntVector sub =
          o.add(F16_MIN_NORMAL)
              .reinterpretAsFloats()
              .sub(Float.intBitsToFloat(F16_MIN_NORMAL))
              .reinterpretAsInts();
      IntVector r = o.add(REBIAS);
      IntVector infNan = o.add(0x70000000);
      infNan = infNan.blend(infNan.or(QUIET), m.and(0x3FF).compare(VectorOperators.NE, 0));
      r = r.blend(infNan, exp.eq(0x7C00));
      r = r.blend(sub, exp.eq(0));
      r.or(sign).reinterpretAsFloats().intoArray(dst, dstOff + i);
    }
    for (; i < n; i++) {
      dst[dstOff + i] = fp16Decode(src.get(SHORT, srcByteOff + 2L * i));
    }
  }

  /**
   * {@code a[i] = fp16Round(a[i])} for {@code from <= i < to}. On arrays, as in {@link
   * #fp16Encode(float[], int, short[], int, int)}, the vectorised JDK round trip plus a
   * NaN-canonicalising pass beats the lane body of {@link #fp16RoundInPlace(MemorySegment, long,
   * long)}; segments use the lanes.
   */
  public static void fp16RoundInPlace(float[] a, int from, int to) {
    for (int start = from; start < to; start += BLOCK) { // block: the NaN pass reads from L1
      int end = Math.min(to, start + BLOCK);
      for (int i = start; i < end; i++) {
        a[i] = Float.float16ToFloat(Float.floatToFloat16(a[i]));
      }
      int i = start;
      for (int bound = start + F.loopBound(end - start); i < bound; i += F.length()) {
        FloatVector x = FloatVector.fromArray(F, a, i);
        x.blend(Float.NaN, x.test(VectorOperators.IS_NAN)).intoArray(a, i);
      }
      for (; i < end; i++) {
        if (Float.isNaN(a[i])) {
          a[i] = Float.NaN;
        }
      }
    }
  }

  /**
   * Rounds {@code count} native-order floats of {@code seg} from byte {@code byteOff} to FP16 in
   * place.
   */
  public static void fp16RoundInPlace(MemorySegment seg, long byteOff, long count) {
    long i = 0;
    long bound = count - count % I.length();
    for (; i < bound; i += I.length()) {
      long at = byteOff + 4 * i;
      IntVector b = FloatVector.fromMemorySegment(F, seg, at, ORDER).reinterpretAsInts();
      // fp16Round(float) per lane
      IntVector a = b.and(0x7FFFFFFF);
      IntVector normal =
          a.add(a.lanewise(VectorOperators.LSHR, F16_DROPPED).and(1))
              .add(F16_BELOW_HALF)
              .and(-(1 << F16_DROPPED));
      IntVector sub = a.reinterpretAsFloats().add(HALF_F).sub(HALF_F).reinterpretAsInts();
      IntVector r = normal.blend(sub, a.lt(F16_MIN_NORMAL));
      r = r.blend(F32_INF, a.compare(VectorOperators.GE, F16_OVERFLOW)).or(b.and(0x80000000));
      r = r.blend(F32_NAN, a.compare(VectorOperators.GT, F32_INF));
      r.reinterpretAsFloats().intoMemorySegment(seg, at, ORDER);
    }
    for (; i < count; i++) {
      long at = byteOff + 4 * i;
      seg.set(FLOAT, at, fp16Round(seg.get(FLOAT, at)));
    }
  }

  // ---------------------------------------------------------------- BF16 bulk

  /** {@code dst[dstOff + i] = bf16Encode(src[srcOff + i])} for {@code i < n}. */
  public static void bf16Encode(float[] src, int srcOff, short[] dst, int dstOff, int n) {
    int i = 0;
    for (int bound = I.loopBound(n); i < bound; i += I.length()) {
      IntVector b = FloatVector.fromArray(F, src, srcOff + i).reinterpretAsInts();
      // bf16Encode(float) per lane, in the low 16 bits (the narrowing drops the upper ones)
      IntVector r =
          b.add(BF16_BELOW_HALF)
              .add(b.lanewise(VectorOperators.LSHR, BF16_DROPPED).and(1))
              .lanewise(VectorOperators.LSHR, BF16_DROPPED);
      r = r.blend(BF16_NAN, b.and(0x7FFFFFFF).compare(VectorOperators.GT, F32_INF));
      ((ShortVector) r.convertShape(VectorOperators.I2S, S, 0)).intoArray(dst, dstOff + i);
    }
    for (; i < n; i++) {
      dst[dstOff + i] = bf16Encode(src[srcOff + i]);
    }
  }

  /**
   * Encodes {@code n} floats into 16-bit lanes of {@code dst} starting at byte {@code dstByteOff}.
   */
  public static void bf16Encode(
      float[] src, int srcOff, MemorySegment dst, long dstByteOff, int n) {
    int i = 0;
    for (int bound = I.loopBound(n); i < bound; i += I.length()) {
      IntVector b = FloatVector.fromArray(F, src, srcOff + i).reinterpretAsInts();
      // bf16Encode(float) per lane, in the low 16 bits (the narrowing drops the upper ones)
      IntVector r =
          b.add(BF16_BELOW_HALF)
              .add(b.lanewise(VectorOperators.LSHR, BF16_DROPPED).and(1))
              .lanewise(VectorOperators.LSHR, BF16_DROPPED);
      r = r.blend(BF16_NAN, b.and(0x7FFFFFFF).compare(VectorOperators.GT, F32_INF));
      ((ShortVector) r.convertShape(VectorOperators.I2S, S, 0))
          .intoMemorySegment(dst, dstByteOff + 2L * i, ORDER);
    }
    for (; i < n; i++) {
      dst.set(SHORT, dstByteOff + 2L * i, bf16Encode(src[srcOff + i]));
    }
  }

  /** {@code dst[dstOff + i] = bf16Decode(src[srcOff + i])} for {@code i < n}. */
  public static void bf16Decode(short[] src, int srcOff, float[] dst, int dstOff, int n) {
    int i = 0;
    for (int bound = I.loopBound(n); i < bound; i += I.length()) {
      IntVector h =
          (IntVector)
              ShortVector.fromArray(S, src, srcOff + i)
                  .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
      h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + i);
    }
    for (; i < n; i++) {
      dst[dstOff + i] = bf16Decode(src[srcOff + i]);
    }
  }

  /** Decodes {@code n} 16-bit lanes of {@code src} starting at byte {@code srcByteOff}. */
  public static void bf16Decode(
      MemorySegment src, long srcByteOff, float[] dst, int dstOff, int n) {
    int i = 0;
    for (int bound = I.loopBound(n); i < bound; i += I.length()) {
      IntVector h =
          (IntVector)
              ShortVector.fromMemorySegment(S, src, srcByteOff + 2L * i, ORDER)
                  .convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
      h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, dstOff + i);
    }
    for (; i < n; i++) {
      dst[dstOff + i] = bf16Decode(src.get(SHORT, srcByteOff + 2L * i));
    }
  }

  /** {@code a[i] = bf16Decode(bf16Encode(a[i]))} for {@code from <= i < to}. */
  public static void bf16RoundInPlace(float[] a, int from, int to) {
    int i = from;
    for (int bound = from + I.loopBound(to - from); i < bound; i += I.length()) {
      IntVector b = FloatVector.fromArray(F, a, i).reinterpretAsInts();
      // bf16Decode(bf16Encode(float)) per lane
      IntVector r =
          b.add(BF16_BELOW_HALF)
              .add(b.lanewise(VectorOperators.LSHR, BF16_DROPPED).and(1))
              .and(-(1 << BF16_DROPPED));
      r = r.blend(F32_NAN, b.and(0x7FFFFFFF).compare(VectorOperators.GT, F32_INF));
      r.reinterpretAsFloats().intoArray(a, i);
    }
    for (; i < to; i++) {
      a[i] = bf16Decode(bf16Encode(a[i]));
    }
  }

  /**
   * Rounds {@code count} native-order floats of {@code seg} from byte {@code byteOff} to BF16 in
   * place.
   */
  public static void bf16RoundInPlace(MemorySegment seg, long byteOff, long count) {
    long i = 0;
    long bound = count - count % I.length();
    for (; i < bound; i += I.length()) {
      long at = byteOff + 4 * i;
      IntVector b = FloatVector.fromMemorySegment(F, seg, at, ORDER).reinterpretAsInts();
      // bf16Decode(bf16Encode(float)) per lane
      IntVector r =
          b.add(BF16_BELOW_HALF)
              .add(b.lanewise(VectorOperators.LSHR, BF16_DROPPED).and(1))
              .and(-(1 << BF16_DROPPED));
      r = r.blend(F32_NAN, b.and(0x7FFFFFFF).compare(VectorOperators.GT, F32_INF));
      r.reinterpretAsFloats().intoMemorySegment(seg, at, ORDER);
    }
    for (; i < count; i++) {
      long at = byteOff + 4 * i;
      seg.set(FLOAT, at, bf16Decode(bf16Encode(seg.get(FLOAT, at))));
    }
  }

  /** Lane count of the kernels (for tests that pick tail lengths). */
  public static int lanes() {
    return I.length();
  }

  // ---------------------------------------------------------------- encode, keeping the source

  /**
   * {@code dst[dstOff + i] = fp16Encode(src[srcOff + i])} for {@code i < n}, and every NaN of
   * {@code src} made canonical in place ({@link Float#NaN}; every other float is left as it is): in
   * one pass, what a traced op needs to store its FP16 output and keep its unrounded values as FP32
   * bytes ({@link #canonicalNaN}) without a second copy. The NaN test is the one {@link
   * #fp16Encode(float[], int, short[], int, int)} already makes on the shorts (a NaN encodes to a
   * NaN, nothing else does): a vector without one is not written back.
   */
  public static void fp16EncodeCanonical(float[] src, int srcOff, short[] dst, int dstOff, int n) {
    for (int start = 0; start < n; start += BLOCK) {
      int end = Math.min(n, start + BLOCK);
      for (int i = start; i < end; i++) {
        dst[dstOff + i] = Float.floatToFloat16(src[srcOff + i]);
      }
      int i = start;
      for (int bound = start + S.loopBound(end - start); i < bound; i += S.length()) {
        ShortVector h = ShortVector.fromArray(S, dst, dstOff + i);
        VectorMask<Short> nan = h.and((short) 0x7FFF).compare(VectorOperators.GT, (short) F16_INF);
        if (nan.anyTrue()) {
          h.blend(F16_NAN, nan).intoArray(dst, dstOff + i);
          canonicalNaNScalar(src, srcOff + i, srcOff + i + S.length());
        }
      }
      fp16EncodeCanonicalScalar(src, srcOff + i, dst, dstOff + i, end - i);
    }
  }

  /** Scalar twin of {@link #fp16EncodeCanonical}. */
  public static void fp16EncodeCanonicalScalar(
      float[] src, int srcOff, short[] dst, int dstOff, int n) {
    for (int i = 0; i < n; i++) {
      float x = src[srcOff + i];
      dst[dstOff + i] = fp16Encode(x);
      if (x != x) {
        src[srcOff + i] = Float.NaN;
      }
    }
  }

  /** The BF16 form of {@link #fp16EncodeCanonical}: NaN lanes found on the floats. */
  public static void bf16EncodeCanonical(float[] src, int srcOff, short[] dst, int dstOff, int n) {
    FloatVector nanF = FloatVector.broadcast(F, Float.NaN);
    int i = 0;
    for (int bound = I.loopBound(n); i < bound; i += I.length()) {
      IntVector b = FloatVector.fromArray(F, src, srcOff + i).reinterpretAsInts();
      // bf16Encode(float) per lane, in the low 16 bits (the narrowing drops the upper ones)
      IntVector r =
          b.add(BF16_BELOW_HALF)
              .add(b.lanewise(VectorOperators.LSHR, BF16_DROPPED).and(1))
              .lanewise(VectorOperators.LSHR, BF16_DROPPED);
      r = r.blend(BF16_NAN, b.and(0x7FFFFFFF).compare(VectorOperators.GT, F32_INF));
      ((ShortVector) r.convertShape(VectorOperators.I2S, S, 0)).intoArray(dst, dstOff + i);
      VectorMask<Integer> nan = b.and(0x7FFFFFFF).compare(VectorOperators.GT, F32_INF);
      if (nan.anyTrue()) {
        b.reinterpretAsFloats().blend(nanF, nan.cast(F)).intoArray(src, srcOff + i);
      }
    }
    bf16EncodeCanonicalScalar(src, srcOff + i, dst, dstOff + i, n - i);
  }

  /** Scalar twin of {@link #bf16EncodeCanonical}. */
  public static void bf16EncodeCanonicalScalar(
      float[] src, int srcOff, short[] dst, int dstOff, int n) {
    for (int i = 0; i < n; i++) {
      float x = src[srcOff + i];
      dst[dstOff + i] = bf16Encode(x);
      if (x != x) {
        src[srcOff + i] = Float.NaN;
      }
    }
  }

  // ---------------------------------------------------------------- NaN → the canonical NaN

  /**
   * {@code a[i] = Float.NaN} where {@code a[i]} is a NaN, for i in [from, to): what storing a float
   * in FP32 or FP64 does to it (every other float is kept as it is). Blocks without a NaN (the
   * usual case) are only read.
   */
  public static void canonicalNaN(float[] a, int from, int to) {
    FloatVector nan = FloatVector.broadcast(F, Float.NaN);
    int i = from;
    for (int bound = from + F.loopBound(to - from); i < bound; i += F.length()) {
      FloatVector v = FloatVector.fromArray(F, a, i);
      VectorMask<Float> isNaN = v.compare(VectorOperators.NE, v);
      if (isNaN.anyTrue()) {
        v.blend(nan, isNaN).intoArray(a, i);
      }
    }
    canonicalNaNScalar(a, i, to);
  }

  /** Scalar twin of {@link #canonicalNaN}. */
  public static void canonicalNaNScalar(float[] a, int from, int to) {
    for (int i = from; i < to; i++) {
      if (Float.isNaN(a[i])) {
        a[i] = Float.NaN;
      }
    }
  }
}
