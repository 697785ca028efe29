package io.nanscope.engine.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * One pass of the tracer's tensor statistics over float values: NaN, ±inf, zero and subnormal
 * counts, the largest finite and the smallest finite non-zero magnitude, and, with the values
 * before rounding, the overflow and underflow counts and the largest finite unrounded magnitude.
 * The vector form ({@link #add}) and its scalar twin ({@link #addScalar}) give the same {@link
 * Census}: counts are sums and extremes are max/min, so the lane order does not matter.
 *
 * <p>Limits are floats (a format whose maxFinite and minNormal are floats; the caller keeps wider
 * formats on its own path). The saturation case of overflow (stored ±maxFinite where the unrounded
 * value was above it) needs the format's own rounding to decide, so the kernel only counts its
 * candidates ({@link Census#saturationCandidates}); the caller re-examines a block that has any.
 */
public final class StatsKernels {

  /** 256 bits, as the other kernels (the counts do not depend on the width). */
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

  /** The int lanes of {@link #F}'s bits. */
  private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;

  private StatsKernels() {}

  /** Running statistics; start from {@link #Census()}, combine blocks by calling add repeatedly. */
  public static final class Census {
    public long count;
    public long nan;
    public long posInf;
    public long negInf;
    public long zero;
    public long subnormal;

    /** Finite unrounded value, stored ±inf (or NaN in a format without infinities). */
    public long overflow;

    /** Finite non-zero unrounded value, stored zero. */
    public long underflow;

    /**
     * Finite unrounded value above maxFinite stored as ±maxFinite: overflow only if nearest-even
     * overflows.
     */
    public long saturationCandidates;

    /** Largest finite |x| (0 when none). */
    public float maxAbs;

    /** Smallest finite non-zero |x| (+inf when none). */
    public float minAbsNonZero = Float.POSITIVE_INFINITY;

    /** Largest finite |u| (−1 when none). */
    public float unroundedMaxAbs = -1f;
  }

  /**
   * Adds {@code x[0, n)} (stored values) and, when {@code u} is not null, {@code u[0, n)} (their
   * unrounded values) to {@code c}, judging subnormals against {@code minNormal} and overflow
   * against {@code maxFinite}; {@code hasInfinity} false means an overflow stores NaN.
   */
  public static void add(
      float[] x,
      float[] u,
      int n,
      float maxFinite,
      float minNormal,
      boolean hasInfinity,
      Census c) {
    // Compares, and/or and blends only (no mask negation: C2 boxes some of it). On the bits: |x| as
    // the int b = bits & 0x7fffffff orders like the float for every non-NaN
    // (b < INF_BITS finite, = INF_BITS ±inf, > INF_BITS NaN), so every test is an int compare
    // and the extremes are int max/min. Counts are kept per lane (a true lane adds a blended 1)
    // and summed once at the end: no per-vector mask popcount. Blends take vectors, not scalars
    // (the scalar forms were not intrinsified here, nor a mask's toVector through a helper).
    IntVector absMask = IntVector.broadcast(I, 0x7fffffff);
    IntVector infBits = IntVector.broadcast(I, INF_BITS);
    IntVector zeroI = IntVector.zero(I);
    IntVector oneI = IntVector.broadcast(I, 1);
    IntVector vmax = IntVector.zero(I); // finite |x| bits, 0 when none
    IntVector vmin = infBits; // finite non-zero |x| bits, INF_BITS when none
    IntVector nan = IntVector.zero(I), pos = nan, neg = nan, zero = nan, below = nan;
    int maxBits = Float.floatToRawIntBits(maxFinite), minBits = Float.floatToRawIntBits(minNormal);
    int i = 0;
    int bound = F.loopBound(n);
    if (u == null) {
      for (; i < bound; i += F.length()) {
        IntVector bits = FloatVector.fromArray(F, x, i).reinterpretAsInts();
        IntVector b = bits.and(absMask);
        VectorMask<Integer> nonFinite = b.compare(VectorOperators.GE, INF_BITS);
        VectorMask<Integer> isZero = b.compare(VectorOperators.EQ, 0);
        nan = nan.add(zeroI.blend(oneI, b.compare(VectorOperators.GT, INF_BITS)));
        pos = pos.add(zeroI.blend(oneI, bits.compare(VectorOperators.EQ, INF_BITS)));
        neg = neg.add(zeroI.blend(oneI, bits.compare(VectorOperators.EQ, NEG_INF_BITS)));
        zero = zero.add(zeroI.blend(oneI, isZero));
        below = below.add(zeroI.blend(oneI, b.compare(VectorOperators.LT, minBits)));
        vmax = vmax.max(b.blend(zeroI, nonFinite));
        vmin = vmin.min(b.blend(infBits, isZero.or(nonFinite)));
      }
    } else {
      // With unrounded values: a lean loop for the common block (every x and u finite, no u
      // beyond maxFinite), where NaN, ±inf, overflow and saturation counts are all 0 and the
      // extremes are the plain int max; the largest |bits| decide afterwards whether the block
      // was common, else the scalar twin counts it (a block holding NaN, inf or an overflow).
      IntVector topX = IntVector.zero(I), topU = topX, under = topX;
      for (; i < bound; i += F.length()) {
        IntVector b = FloatVector.fromArray(F, x, i).reinterpretAsInts().and(absMask);
        IntVector ub = FloatVector.fromArray(F, u, i).reinterpretAsInts().and(absMask);
        topX = topX.max(b);
        topU = topU.max(ub);
        VectorMask<Integer> isZero = b.compare(VectorOperators.EQ, 0);
        zero = zero.add(zeroI.blend(oneI, isZero));
        below = below.add(zeroI.blend(oneI, b.compare(VectorOperators.LT, minBits)));
        vmin = vmin.min(b.blend(infBits, isZero));
        under = under.add(zeroI.blend(oneI, isZero.and(ub.compare(VectorOperators.GT, 0))));
      }
      int tx = topX.reduceLanes(VectorOperators.MAX), tu = topU.reduceLanes(VectorOperators.MAX);
      if (tx >= INF_BITS || tu > maxBits) {
        addWithRare(x, u, n, maxFinite, minNormal, hasInfinity, c);
        return;
      }
      long zeros = (long) zero.reduceLanes(VectorOperators.ADD);
      c.count += i;
      c.zero += zeros;
      c.subnormal += (long) below.reduceLanes(VectorOperators.ADD) - zeros;
      c.underflow += (long) under.reduceLanes(VectorOperators.ADD);
      if (i > 0) {
        c.maxAbs = Math.max(c.maxAbs, Float.intBitsToFloat(tx));
        c.unroundedMaxAbs = Math.max(c.unroundedMaxAbs, Float.intBitsToFloat(tu));
      }
      c.minAbsNonZero =
          Math.min(c.minAbsNonZero, Float.intBitsToFloat(vmin.reduceLanes(VectorOperators.MIN)));
      addScalar(x, u, i, n, maxFinite, minNormal, hasInfinity, c);
      return;
    }
    long zeros = (long) zero.reduceLanes(VectorOperators.ADD);
    c.count += i;
    c.nan += (long) nan.reduceLanes(VectorOperators.ADD);
    c.posInf += (long) pos.reduceLanes(VectorOperators.ADD);
    c.negInf += (long) neg.reduceLanes(VectorOperators.ADD);
    c.zero += zeros;
    c.subnormal +=
        (long) below.reduceLanes(VectorOperators.ADD) - zeros; // |x| < minNormal and not ±0
    c.maxAbs = Math.max(c.maxAbs, Float.intBitsToFloat(vmax.reduceLanes(VectorOperators.MAX)));
    c.minAbsNonZero =
        Math.min(c.minAbsNonZero, Float.intBitsToFloat(vmin.reduceLanes(VectorOperators.MIN)));
    addScalar(x, u, i, n, maxFinite, minNormal, hasInfinity, c);
  }

  /**
   * {@link #add} with unrounded values for a block that holds NaN, ±inf or a value beyond maxFinite
   * (every count of the twin can be non-zero): per-vector mask counts.
   */
  private static void addWithRare(
      float[] x,
      float[] u,
      int n,
      float maxFinite,
      float minNormal,
      boolean hasInfinity,
      Census c) {
    FloatVector zeros = FloatVector.zero(F);
    FloatVector infs = FloatVector.broadcast(F, Float.POSITIVE_INFINITY);
    FloatVector minusOnes = FloatVector.broadcast(F, -1f);
    FloatVector vmax = zeros;
    FloatVector vmin = infs;
    FloatVector umax = minusOnes;
    long nan = 0, pos = 0, neg = 0, zero = 0, sub = 0, over = 0, overNaN = 0, under = 0, cand = 0;
    int i = 0;
    int bound = F.loopBound(n);
    for (; i < bound; i += F.length()) {
      FloatVector xv = FloatVector.fromArray(F, x, i);
      FloatVector ax = xv.abs();
      VectorMask<Float> isNaN = xv.compare(VectorOperators.NE, xv);
      VectorMask<Float> inf = ax.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY);
      VectorMask<Float> finite = ax.compare(VectorOperators.LT, Float.POSITIVE_INFINITY);
      VectorMask<Float> isZero = ax.compare(VectorOperators.EQ, 0f);
      VectorMask<Float> nonZero = ax.compare(VectorOperators.GT, 0f).and(finite);
      nan += isNaN.trueCount();
      pos += inf.and(xv.compare(VectorOperators.GT, 0f)).trueCount();
      neg += inf.and(xv.compare(VectorOperators.LT, 0f)).trueCount();
      zero += isZero.trueCount();
      sub += nonZero.and(ax.compare(VectorOperators.LT, minNormal)).trueCount();
      vmax = vmax.max(zeros.blend(ax, finite));
      vmin = vmin.min(infs.blend(ax, nonZero));
      FloatVector au = FloatVector.fromArray(F, u, i).abs();
      VectorMask<Float> uFinite = au.compare(VectorOperators.LT, Float.POSITIVE_INFINITY);
      umax = umax.max(minusOnes.blend(au, uFinite));
      over += uFinite.and(inf).trueCount();
      overNaN += uFinite.and(isNaN).trueCount(); // an overflow only where the format has no inf
      cand +=
          uFinite
              .and(ax.compare(VectorOperators.EQ, maxFinite))
              .and(au.compare(VectorOperators.GT, maxFinite))
              .trueCount();
      under += uFinite.and(isZero).and(au.compare(VectorOperators.GT, 0f)).trueCount();
    }
    if (!hasInfinity) {
      over += overNaN;
    }
    c.count += i;
    c.nan += nan;
    c.posInf += pos;
    c.negInf += neg;
    c.zero += zero;
    c.subnormal += sub;
    c.overflow += over;
    c.underflow += under;
    c.saturationCandidates += cand;
    c.maxAbs = Math.max(c.maxAbs, vmax.reduceLanes(VectorOperators.MAX));
    c.minAbsNonZero = Math.min(c.minAbsNonZero, vmin.reduceLanes(VectorOperators.MIN));
    c.unroundedMaxAbs = Math.max(c.unroundedMaxAbs, umax.reduceLanes(VectorOperators.MAX));
    addScalar(x, u, i, n, maxFinite, minNormal, hasInfinity, c);
  }

  /** Scalar twin of {@link #add} over {@code [from, to)}. */
  public static void addScalar(
      float[] x,
      float[] u,
      int from,
      int to,
      float maxFinite,
      float minNormal,
      boolean hasInfinity,
      Census c) {
    for (int i = from; i < to; i++) {
      float v = x[i];
      float a = Math.abs(v);
      c.count++;
      if (Float.isNaN(v)) {
        c.nan++;
      } else if (a == Float.POSITIVE_INFINITY) {
        if (v > 0) {
          c.posInf++;
        } else {
          c.negInf++;
        }
      } else if (a == 0) {
        c.zero++;
      } else {
        c.maxAbs = Math.max(c.maxAbs, a);
        c.minAbsNonZero = Math.min(c.minAbsNonZero, a);
        if (a < minNormal) {
          c.subnormal++;
        }
      }
      if (u == null) {
        continue;
      }
      float au = Math.abs(u[i]);
      if (!(au < Float.POSITIVE_INFINITY)) {
        continue; // NaN or infinite before rounding: neither overflow nor underflow
      }
      c.unroundedMaxAbs = Math.max(c.unroundedMaxAbs, au);
      if (a == Float.POSITIVE_INFINITY || (Float.isNaN(v) && !hasInfinity)) {
        c.overflow++;
      } else if (a == maxFinite && au > maxFinite) {
        c.saturationCandidates++;
      } else if (a == 0 && au != 0) {
        c.underflow++;
      }
    }
  }

  /**
   * Adds the NaN count of {@code x[0, n)} to {@code counts[0]} and its ±inf count to {@code
   * counts[1]} (the anomaly tracer's question, asked of every op output). A finite float has |bits|
   * below {@code 0x7f800000}, a NaN or ±inf at or above it: the vector loop keeps the largest
   * |bits| per lane (integer max, so the lane order does not matter) and only a block that holds a
   * non-finite value is counted, by the scalar twin.
   */
  public static void countNonFinite(float[] x, int n, long[] counts) {
    IntVector absMask = IntVector.broadcast(I, 0x7fffffff);
    IntVector top = IntVector.zero(I);
    int i = 0;
    int bound = F.loopBound(n);
    for (; i < bound; i += F.length()) {
      top = top.max(FloatVector.fromArray(F, x, i).reinterpretAsInts().and(absMask));
    }
    if (top.reduceLanes(VectorOperators.MAX) >= INF_BITS) {
      countNonFiniteScalar(x, 0, i, counts);
    }
    countNonFiniteScalar(x, i, n, counts);
  }

  /** Scalar twin of {@link #countNonFinite} over {@code [from, to)}. */
  public static void countNonFiniteScalar(float[] x, int from, int to, long[] counts) {
    long nan = 0, inf = 0;
    for (int i = from; i < to; i++) {
      float v = x[i];
      if (v != v) {
        nan++;
      } else if (Math.abs(v) == Float.POSITIVE_INFINITY) {
        inf++;
      }
    }
    counts[0] += nan;
    counts[1] += inf;
  }

  // ---------------------------------------------------------------- the census on the bits

  /** The widest int lanes (512 bits with AVX-512): the bit census's counts do not depend on it. */
  private static final VectorSpecies<Integer> WI = IntVector.SPECIES_PREFERRED;

  /** Float lanes of {@link #WI}'s width. */
  private static final VectorSpecies<Float> WF = FloatVector.SPECIES_PREFERRED;

  /** 16-bit lanes, as many as {@link #WI} has (half its width): widened one to one. */
  private static final VectorSpecies<Short> WS =
      VectorSpecies.of(short.class, VectorShape.forBitSize(WI.vectorBitSize() / 2));

  /**
   * What the bit census adds up over the common blocks of a tensor: every stored value finite and,
   * with unrounded values, every unrounded value finite and within maxFinite. There NaN, ±inf,
   * overflow and saturation counts are all 0, so the census is counts and extremes of magnitudes,
   * kept as the magnitude bits ({@code bits & 0x7fff} of a 16-bit value, {@code bits & 0x7fffffff}
   * of a float): for a sign-magnitude format they order as the values do, so the largest bits are
   * the bits of the largest value and the caller decodes them once per tensor.
   */
  public static final class BitCensus {
    public long count;
    public long zero;

    /** |x| below minNormal, zeros included (subnormal = below − zero). */
    public long below;

    /** Stored zero, unrounded non-zero. */
    public long underflow;

    /** Largest |x| bits (−1 when no element was counted). */
    public int topX = -1;

    /** Smallest non-zero |x| bits ({@link Integer#MAX_VALUE} when none). */
    public int minNonZero = Integer.MAX_VALUE;

    /** Largest |u| bits (−1 when no unrounded value was counted). */
    public int topU = -1;
  }

  /**
   * Counts {@code x[xOff, xOff + n)}, 16-bit values whose magnitude bits reach {@code infBits} at
   * ±inf and NaN and {@code minNormalBits} at minNormal (FP16: 0x7c00, 0x0400; BF16: 0x7f80,
   * 0x0080), into {@code c} if the block is common (every |bits| below {@code infBits}) and returns
   * true; otherwise adds nothing and returns false (the caller counts the block on its full path).
   * One pass over the 16-bit storage, no decoding: every test is an integer sum of shifted
   * differences (no masks), so the loop is adds, shifts and min/max only.
   */
  public static boolean census16(
      short[] x, int xOff, int n, int infBits, int minNormalBits, BitCensus c) {
    IntVector top = IntVector.zero(WI), zero = top, below = top;
    IntVector minNz = IntVector.broadcast(WI, Integer.MAX_VALUE);
    int i = 0;
    for (int bound = WI.loopBound(n); i < bound; i += WI.length()) {
      IntVector b =
          ((IntVector)
                  ShortVector.fromArray(WS, x, xOff + i)
                      .convertShape(VectorOperators.ZERO_EXTEND_S2I, WI, 0))
              .and(0x7fff);
      IntVector bm1 = b.sub(1); // −1 only for ±0
      top = top.max(b);
      zero = zero.add(bm1.lanewise(VectorOperators.LSHR, 31));
      below = below.add(b.sub(minNormalBits).lanewise(VectorOperators.LSHR, 31));
      minNz = minNz.min(bm1.and(0x7fffffff)); // ±0 → MAX_VALUE, else |bits| − 1
    }
    int tx = top.reduceLanes(VectorOperators.MAX);
    if (tx >= infBits) {
      return false;
    }
    BitCensus tail = new BitCensus();
    if (!census16Scalar(x, xOff + i, n - i, infBits, minNormalBits, tail)) {
      return false;
    }
    c.count += n;
    c.zero += (long) zero.reduceLanes(VectorOperators.ADD) + tail.zero;
    c.below += (long) below.reduceLanes(VectorOperators.ADD) + tail.below;
    if (i > 0) {
      c.topX = Math.max(c.topX, tx);
      c.minNonZero = Math.min(c.minNonZero, nonZeroMin(minNz.reduceLanes(VectorOperators.MIN)));
    }
    c.topX = Math.max(c.topX, tail.topX);
    c.minNonZero = Math.min(c.minNonZero, tail.minNonZero);
    return true;
  }

  /** Scalar twin of {@link #census16(short[], int, int, int, int, BitCensus)}. */
  public static boolean census16Scalar(
      short[] x, int xOff, int n, int infBits, int minNormalBits, BitCensus c) {
    long zero = 0, below = 0;
    int top = -1, minNz = Integer.MAX_VALUE;
    for (int i = 0; i < n; i++) {
      int b = x[xOff + i] & 0x7fff;
      if (b >= infBits) {
        return false;
      }
      top = Math.max(top, b);
      if (b == 0) {
        zero++;
      } else {
        minNz = Math.min(minNz, b);
      }
      if (b < minNormalBits) {
        below++;
      }
    }
    c.count += n;
    c.zero += zero;
    c.below += below;
    c.topX = Math.max(c.topX, top);
    c.minNonZero = Math.min(c.minNonZero, minNz);
    return true;
  }

  /**
   * {@link #census16(short[], int, int, int, int, BitCensus)} with the unrounded values {@code
   * u[uOff, uOff + n)}: the block is common when, besides every stored value, every |u| is at most
   * maxFinite ({@code maxFiniteU}, the float bits of maxFinite), so that u is finite and no value
   * overflowed or saturated. Adds the underflow count (stored ±0, u non-zero) and the largest |u|.
   */
  public static boolean census16(
      short[] x,
      int xOff,
      float[] u,
      int uOff,
      int n,
      int infBits,
      int minNormalBits,
      int maxFiniteU,
      BitCensus c) {
    IntVector top = IntVector.zero(WI), topU = top, zero = top, below = top, under = top;
    IntVector minNz = IntVector.broadcast(WI, Integer.MAX_VALUE);
    int i = 0;
    for (int bound = WI.loopBound(n); i < bound; i += WI.length()) {
      IntVector b =
          ((IntVector)
                  ShortVector.fromArray(WS, x, xOff + i)
                      .convertShape(VectorOperators.ZERO_EXTEND_S2I, WI, 0))
              .and(0x7fff);
      IntVector ub = FloatVector.fromArray(WF, u, uOff + i).reinterpretAsInts().and(0x7fffffff);
      IntVector bm1 = b.sub(1);
      IntVector isZero = bm1.lanewise(VectorOperators.LSHR, 31); // 1 for ±0, else 0
      top = top.max(b);
      topU = topU.max(ub);
      zero = zero.add(isZero);
      below = below.add(b.sub(minNormalBits).lanewise(VectorOperators.LSHR, 31));
      minNz = minNz.min(bm1.and(0x7fffffff));
      // ub + 0x7fffffff carries into the sign bit exactly when ub ≠ 0
      under = under.add(isZero.and(ub.add(0x7fffffff).lanewise(VectorOperators.LSHR, 31)));
    }
    int tx = top.reduceLanes(VectorOperators.MAX), tu = topU.reduceLanes(VectorOperators.MAX);
    if (tx >= infBits || tu > maxFiniteU) {
      return false;
    }
    BitCensus tail = new BitCensus();
    if (!census16Scalar(
        x, xOff + i, u, uOff + i, n - i, infBits, minNormalBits, maxFiniteU, tail)) {
      return false;
    }
    c.count += n;
    c.zero += (long) zero.reduceLanes(VectorOperators.ADD) + tail.zero;
    c.below += (long) below.reduceLanes(VectorOperators.ADD) + tail.below;
    c.underflow += (long) under.reduceLanes(VectorOperators.ADD) + tail.underflow;
    if (i > 0) {
      c.topX = Math.max(c.topX, tx);
      c.topU = Math.max(c.topU, tu);
      c.minNonZero = Math.min(c.minNonZero, nonZeroMin(minNz.reduceLanes(VectorOperators.MIN)));
    }
    c.topX = Math.max(c.topX, tail.topX);
    c.topU = Math.max(c.topU, tail.topU);
    c.minNonZero = Math.min(c.minNonZero, tail.minNonZero);
    return true;
  }

  /**
   * Scalar twin of {@link #census16(short[], int, float[], int, int, int, int, int, BitCensus)}.
   */
  public static boolean census16Scalar(
      short[] x,
      int xOff,
      float[] u,
      int uOff,
      int n,
      int infBits,
      int minNormalBits,
      int maxFiniteU,
      BitCensus c) {
    long zero = 0, below = 0, under = 0;
    int top = -1, topU = -1, minNz = Integer.MAX_VALUE;
    for (int i = 0; i < n; i++) {
      int b = x[xOff + i] & 0x7fff;
      int ub = Float.floatToRawIntBits(u[uOff + i]) & 0x7fffffff;
      if (b >= infBits || ub > maxFiniteU) {
        return false;
      }
      top = Math.max(top, b);
      topU = Math.max(topU, ub);
      if (b == 0) {
        zero++;
        if (ub != 0) {
          under++;
        }
      } else {
        minNz = Math.min(minNz, b);
      }
      if (b < minNormalBits) {
        below++;
      }
    }
    c.count += n;
    c.zero += zero;
    c.below += below;
    c.underflow += under;
    c.topX = Math.max(c.topX, top);
    c.topU = Math.max(c.topU, topU);
    c.minNonZero = Math.min(c.minNonZero, minNz);
    return true;
  }

  /**
   * The bit census of floats {@code x[xOff, xOff + n)} without unrounded values (an FP32 output):
   * common when every value is finite; {@code minNormalBits} is the float bits of the format's
   * minNormal. Returns false, adding nothing, for a block holding NaN or ±inf.
   */
  public static boolean census32(float[] x, int xOff, int n, int minNormalBits, BitCensus c) {
    IntVector top = IntVector.zero(WI), zero = top, below = top;
    IntVector minNz = IntVector.broadcast(WI, Integer.MAX_VALUE);
    int i = 0;
    for (int bound = WI.loopBound(n); i < bound; i += WI.length()) {
      IntVector b = FloatVector.fromArray(WF, x, xOff + i).reinterpretAsInts().and(0x7fffffff);
      IntVector bm1 = b.sub(1);
      top = top.max(b);
      zero = zero.add(bm1.lanewise(VectorOperators.LSHR, 31));
      below = below.add(b.sub(minNormalBits).lanewise(VectorOperators.LSHR, 31));
      minNz = minNz.min(bm1.and(0x7fffffff));
    }
    int tx = top.reduceLanes(VectorOperators.MAX);
    if (tx >= INF_BITS) {
      return false;
    }
    // The tail inline (no BitCensus allocated per call)
    long tailZero = 0, tailBelow = 0;
    int tailTop = -1, tailMin = Integer.MAX_VALUE;
    for (int k = i; k < n; k++) {
      int b = Float.floatToRawIntBits(x[xOff + k]) & 0x7fffffff;
      if (b >= INF_BITS) {
        return false;
      }
      tailTop = Math.max(tailTop, b);
      if (b == 0) {
        tailZero++;
      } else {
        tailMin = Math.min(tailMin, b);
      }
      if (b < minNormalBits) {
        tailBelow++;
      }
    }
    c.count += n;
    c.zero += (long) zero.reduceLanes(VectorOperators.ADD) + tailZero;
    c.below += (long) below.reduceLanes(VectorOperators.ADD) + tailBelow;
    if (i > 0) {
      c.topX = Math.max(c.topX, tx);
      c.minNonZero = Math.min(c.minNonZero, nonZeroMin(minNz.reduceLanes(VectorOperators.MIN)));
    }
    c.topX = Math.max(c.topX, tailTop);
    c.minNonZero = Math.min(c.minNonZero, tailMin);
    return true;
  }

  /** Scalar twin of {@link #census32}. */
  public static boolean census32Scalar(float[] x, int xOff, int n, int minNormalBits, BitCensus c) {
    long zero = 0, below = 0;
    int top = -1, minNz = Integer.MAX_VALUE;
    for (int i = 0; i < n; i++) {
      int b = Float.floatToRawIntBits(x[xOff + i]) & 0x7fffffff;
      if (b >= INF_BITS) {
        return false;
      }
      top = Math.max(top, b);
      if (b == 0) {
        zero++;
      } else {
        minNz = Math.min(minNz, b);
      }
      if (b < minNormalBits) {
        below++;
      }
    }
    c.count += n;
    c.zero += zero;
    c.below += below;
    c.topX = Math.max(c.topX, top);
    c.minNonZero = Math.min(c.minNonZero, minNz);
    return true;
  }

  /**
   * The smallest non-zero |bits| from the least lane of {@code |bits| − 1} (zeros as MAX_VALUE).
   *
   * <p>No method of this class takes or returns a vector: the lane sums and the widening are
   * written out where they are used. A helper that took a vector could be compiled by C2 on its own
   * first, with the vector boxed and its Vector API calls not intrinsified, and then not be inlined
   * into the kernels compiled after it (the JVM-to-JVM slowdown of
   * docs/lab/2026-12-07-stats-census.md, "One JVM in two").
   */
  private static int nonZeroMin(int leastLane) {
    return leastLane == Integer.MAX_VALUE ? leastLane : leastLane + 1;
  }

  /** The bits of +inf: |bits| at or above it is NaN or ±inf. */
  private static final int INF_BITS = 0x7f800000;

  /** The bits of −inf. */
  private static final int NEG_INF_BITS = 0xff800000;
}
