package io.nanscope.engine.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
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
      long zeros = sum(zero);
      c.count += i;
      c.zero += zeros;
      c.subnormal += sum(below) - zeros;
      c.underflow += sum(under);
      if (i > 0) {
        c.maxAbs = Math.max(c.maxAbs, Float.intBitsToFloat(tx));
        c.unroundedMaxAbs = Math.max(c.unroundedMaxAbs, Float.intBitsToFloat(tu));
      }
      c.minAbsNonZero =
          Math.min(c.minAbsNonZero, Float.intBitsToFloat(vmin.reduceLanes(VectorOperators.MIN)));
      addScalar(x, u, i, n, maxFinite, minNormal, hasInfinity, c);
      return;
    }
    long zeros = sum(zero);
    c.count += i;
    c.nan += sum(nan);
    c.posInf += sum(pos);
    c.negInf += sum(neg);
    c.zero += zeros;
    c.subnormal += sum(below) - zeros; // |x| < minNormal and not ±0
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

  /** The sum of the lanes (per-lane counts, exact in int: each at most n / 8). */
  private static long sum(IntVector v) {
    return v.reduceLanes(VectorOperators.ADD);
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

  /** The bits of +inf: |bits| at or above it is NaN or ±inf. */
  private static final int INF_BITS = 0x7f800000;

  /** The bits of −inf. */
  private static final int NEG_INF_BITS = 0xff800000;
}
