package io.nanscope.engine.op;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.RoundingSpec;
import io.nanscope.engine.simd.StatsKernels;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.StorageKind;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.TensorStats;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The last step of every op: round the computed values once to the output format, store them, and
 * report to the tracer (with the unrounded values in FP32 when the output is narrower, so the
 * tracer can count overflow = finite before rounding, infinite after).
 */
final class Emit {

  private Emit() {}

  /** Rounds to {@code format} nearest-even (gradients, casts). */
  static Tensor output(
      OpContext ctx,
      Site site,
      String op,
      Phase phase,
      FloatFormat format,
      Shape shape,
      double[] values,
      Tensor... inputs) {
    return output(ctx, site, op, phase, format, RoundingSpec.NEAREST_EVEN, shape, values, inputs);
  }

  /**
   * Rounds to {@code p.output()} with {@code p.rounding()}, element i drawing stochastic bits i.
   */
  static Tensor output(
      OpContext ctx,
      Site site,
      String op,
      Phase phase,
      Precision p,
      Shape shape,
      double[] values,
      Tensor... inputs) {
    return output(ctx, site, op, phase, p.output(), p.rounding(), shape, values, inputs);
  }

  private static Tensor output(
      OpContext ctx,
      Site site,
      String op,
      Phase phase,
      FloatFormat format,
      RoundingSpec spec,
      Shape shape,
      double[] values,
      Tensor... inputs) {
    Tensor out;
    if (spec.isIeeeDefault()) {
      out = Tensor.ofDoubles(format, shape, values); // one nearest-even rounding each, in bulk
    } else {
      out = Tensor.zeros(format, shape);
      for (int i = 0; i < values.length; i++) {
        out.setDouble(i, Precision.round(format, spec, values[i], i));
      }
    }
    if (ctx.tracer().enabled()) {
      Tensor unrounded = null;
      if (format != FloatFormat.FP32 && format != FloatFormat.FP64) {
        float[] f = new float[values.length];
        for (int i = 0; i < values.length; i++) {
          f[i] = (float) values[i];
        }
        unrounded = fp32Over(shape, f); // = set(i, (float) v), without a second copy
      }
      ctx.tracer()
          .record(new OpRecord(site, op, phase, ctx.step(), List.of(inputs), out, unrounded));
    }
    return out;
  }

  /**
   * Whether an op may run on float arrays instead of doubles: its element-wise intermediates are
   * FP32 ({@code compute}), its output is a format a float rounds to ({@link #roundsFromFloat}),
   * and no input is FP64 (so every input value is a float). Then every intermediate the double path
   * computes is an FP32 value, each formed by one correctly rounded operation on floats (see {@code
   * engine.simd.ElementwiseKernels}), and the float path gives the same bits.
   */
  static boolean floatPath(Precision p, Tensor... inputs) {
    return floatPath(p, p.output(), inputs);
  }

  /**
   * {@link #floatPath(Precision, Tensor...)} for a result rounded to {@code out} (a gradient
   * format).
   */
  static boolean floatPath(Precision p, FloatFormat out, Tensor... inputs) {
    if (p.compute() != FloatFormat.FP32 || !roundsFromFloat(out)) {
      return false;
    }
    for (Tensor t : inputs) {
      if (t.format() == FloatFormat.FP64) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether rounding a float to {@code f} is defined on floats ({@code FloatFormat.round(float)}):
   * FP32, and every format whose values are all floats (p ≤ 24, at most 8 exponent bits). FP64 is
   * left to the double path.
   */
  static boolean roundsFromFloat(FloatFormat f) {
    return f == FloatFormat.FP32
        || (f.info().precisionBits() <= 24 && f.info().exponentBits() <= 8);
  }

  /**
   * Rounds {@code a[from, to)} in place to {@code p.output()} with {@code p.rounding()}, element i
   * drawing stochastic bits {@code index0 + i − from}: the float form of {@code p.roundOutput(v,
   * index)} for intermediates an op materialises in its output format (RMSNorm's x̂, SwiGLU's
   * silu(g)). A NaN may come out with another payload than the double path's; every NaN is made
   * canonical when stored, so no stored bit differs.
   */
  static void roundOutput(Precision p, float[] a, int from, int to, long index0) {
    FloatFormat f = p.output();
    if (p.rounding().isIeeeDefault()) {
      if (f != FloatFormat.FP32) {
        f.roundInPlace(a, from, to); // FP16/BF16: the vector kernels; = f.round(float) each
      }
      return;
    }
    for (int i = from; i < to; i++) {
      a[i] = (float) Precision.round(f, p.rounding(), a[i], index0 + i - from);
    }
  }

  /**
   * Whether {@link #roundOutput(Precision, float[], int, int, long)} leaves every NaN canonical
   * ({@link Float#NaN}): FP16 and BF16 nearest-even with IEEE overflow, whose vector kernels store
   * the canonical NaN for every NaN lane (RoundingKernels' fp16/bf16RoundInPlace). Other precisions
   * are not vouched for (FP32 output leaves a NaN as it is).
   */
  static boolean roundsToCanonical(Precision p) {
    return p.rounding().isIeeeDefault()
        && (p.output() == FloatFormat.FP16 || p.output() == FloatFormat.BF16);
  }

  /**
   * One float rounded to {@code p.output()} with {@code p.rounding()} and stochastic draw {@code
   * index}: the float form of {@code p.roundOutput(v, index)} (v is a float, so the double path
   * rounds the same value once).
   */
  static float roundOutput(Precision p, float v, long index) {
    return (float) p.roundOutput(v, index);
  }

  /**
   * {@link #output(OpContext, Site, String, Phase, Precision, Shape, double[], Tensor...)} on
   * floats.
   */
  static Tensor output(
      OpContext ctx,
      Site site,
      String op,
      Phase phase,
      Precision p,
      Shape shape,
      float[] values,
      Tensor... inputs) {
    return output(ctx, site, op, phase, p.output(), p.rounding(), shape, values, inputs);
  }

  /** Rounds float values to {@code format} nearest-even (gradients, casts). */
  static Tensor output(
      OpContext ctx,
      Site site,
      String op,
      Phase phase,
      FloatFormat format,
      Shape shape,
      float[] values,
      Tensor... inputs) {
    return output(ctx, site, op, phase, format, RoundingSpec.NEAREST_EVEN, shape, values, inputs);
  }

  /**
   * The float form of the double {@code output}: the same bits, since each value is a float and
   * {@code Tensor.ofFloats} rounds it once exactly as {@code ofDoubles} rounds its widened double.
   * {@code values} is overwritten.
   */
  private static Tensor output(
      OpContext ctx,
      Site site,
      String op,
      Phase phase,
      FloatFormat format,
      RoundingSpec spec,
      Shape shape,
      float[] values,
      Tensor... inputs) {
    boolean traced = ctx.tracer().enabled();
    Tensor unrounded = null;
    Tensor out;
    if (traced && spec.isIeeeDefault() && StorageKind.of(format) == StorageKind.BITS16) {
      // One pass: the 16-bit output encoded from values (the bits Tensor.ofFloats stores) and the
      // NaNs of values made canonical, so that values itself is the unrounded FP32 tensor.
      short[] bits = new short[values.length];
      format.encode16Canonical(values, 0, bits, 0, values.length);
      out = Tensor.wrap(format, shape, MemorySegment.ofArray(bits));
      unrounded = Tensor.wrap(FloatFormat.FP32, shape, MemorySegment.ofArray(values));
      ctx.tracer()
          .record(new OpRecord(site, op, phase, ctx.step(), List.of(inputs), out, unrounded));
      return out;
    }
    if (traced && format != FloatFormat.FP32 && format != FloatFormat.FP64) {
      unrounded = fp32Over(shape, values.clone());
    }
    if (spec.isIeeeDefault()) {
      out = Tensor.ofFloats(format, shape, values);
    } else {
      out = Tensor.zeros(format, shape);
      for (int i = 0; i < values.length; i++) {
        out.setDouble(i, Precision.round(format, spec, values[i], i));
      }
    }
    if (traced) {
      ctx.tracer()
          .record(new OpRecord(site, op, phase, ctx.step(), List.of(inputs), out, unrounded));
    }
    return out;
  }

  /**
   * Reports an output the op has already stored: {@code out} holds {@code values}, each already a
   * value of {@code out}'s format (so the double {@code output} would store the same bits again: a
   * value of the format rounds to itself in every rounding mode, and a NaN is stored canonical both
   * ways). Saves rounding a second copy of a large intermediate such as attention's P.
   */
  static void recordStored(
      OpContext ctx,
      Site site,
      String op,
      Phase phase,
      Tensor out,
      double[] values,
      Tensor... inputs) {
    if (!ctx.tracer().enabled()) {
      return;
    }
    FloatFormat format = out.format();
    Tensor unrounded = null;
    if (format != FloatFormat.FP32 && format != FloatFormat.FP64) {
      float[] f = new float[values.length];
      for (int i = 0; i < values.length; i++) {
        f[i] = (float) values[i];
      }
      unrounded = fp32Over(out.shape(), f);
    }
    ctx.tracer().record(new OpRecord(site, op, phase, ctx.step(), List.of(inputs), out, unrounded));
  }

  /**
   * {@link #recordStored(OpContext, Site, String, Phase, Tensor, double[], Tensor...)} for values
   * held as floats (each already a value of {@code out}'s format). With a tracer and a format
   * narrower than FP32, the record's unrounded tensor is {@code values} itself: the caller must not
   * change it afterwards.
   */
  static void recordStored(
      OpContext ctx,
      Site site,
      String op,
      Phase phase,
      Tensor out,
      float[] values,
      Tensor... inputs) {
    recordStored(ctx, site, op, phase, out, values, false, null, inputs);
  }

  /**
   * {@link #recordStored(OpContext, Site, String, Phase, Tensor, float[], Tensor...)} where the
   * caller may vouch that every NaN of {@code values} is already canonical ({@code canonical}: each
   * value came out of {@link #roundOutput(Precision, float[], int, int, long)} with a precision for
   * which {@link #roundsToCanonical} holds, or is +0), so the NaN pass over them is skipped; and
   * {@code census}, when not null, is the bit census of {@code values} the op counted in its own
   * loop (every block common): the record then carries its stats ({@link OpRecord#stats()}, {@link
   * TensorStats#ofStoredFloats}) and the tracer makes no pass of its own.
   */
  static void recordStored(
      OpContext ctx,
      Site site,
      String op,
      Phase phase,
      Tensor out,
      float[] values,
      boolean canonical,
      StatsKernels.BitCensus census,
      Tensor... inputs) {
    if (!ctx.tracer().enabled()) {
      return;
    }
    FloatFormat format = out.format();
    Tensor unrounded = null;
    if (format != FloatFormat.FP32 && format != FloatFormat.FP64) {
      unrounded =
          canonical
              ? Tensor.wrap(FloatFormat.FP32, out.shape(), MemorySegment.ofArray(values))
              : fp32Over(out.shape(), values);
    }
    TensorStats stats =
        census == null ? null : TensorStats.ofStoredFloats(format, census, unrounded != null);
    ctx.tracer()
        .record(new OpRecord(site, op, phase, ctx.step(), List.of(inputs), out, unrounded, stats));
  }

  /**
   * An FP32 tensor over {@code values} itself (no copy), NaNs made canonical in place: the bytes
   * {@code Tensor.ofFloats(FP32, shape, values)} would store (it rounds to FP32 in place, which for
   * floats only makes NaNs canonical, then copies). The caller gives up {@code values}.
   */
  private static Tensor fp32Over(Shape shape, float[] values) {
    FloatFormat.FP32.roundInPlace(values, 0, values.length);
    return Tensor.wrap(FloatFormat.FP32, shape, MemorySegment.ofArray(values));
  }

  /** Fails with a message naming both shapes unless they are equal. */
  static void sameShape(String op, String aName, Tensor a, String bName, Tensor b) {
    if (!a.shape().equals(b.shape())) {
      throw new IllegalArgumentException(
          op
              + ": "
              + aName
              + " is "
              + a.shape()
              + " but "
              + bName
              + " is "
              + b.shape()
              + "; they must match");
    }
  }

  static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
