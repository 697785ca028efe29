package io.nanscope.engine.op;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.RoundingSpec;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;
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
      OpContext ctx, Site site, String op, Phase phase, FloatFormat format, Shape shape, double[] values,
      Tensor... inputs) {
    return output(ctx, site, op, phase, format, RoundingSpec.NEAREST_EVEN, shape, values, inputs);
  }

  /** Rounds to {@code p.output()} with {@code p.rounding()}, element i drawing stochastic bits i. */
  static Tensor output(
      OpContext ctx, Site site, String op, Phase phase, Precision p, Shape shape, double[] values,
      Tensor... inputs) {
    return output(ctx, site, op, phase, p.output(), p.rounding(), shape, values, inputs);
  }

  private static Tensor output(
      OpContext ctx, Site site, String op, Phase phase, FloatFormat format, RoundingSpec spec, Shape shape,
      double[] values, Tensor... inputs) {
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
        unrounded = Tensor.zeros(FloatFormat.FP32, shape);
        for (int i = 0; i < values.length; i++) {
          unrounded.set(i, (float) values[i]);
        }
      }
      ctx.tracer().record(new OpRecord(site, op, phase, ctx.step(), List.of(inputs), out, unrounded));
    }
    return out;
  }

  /** Fails with a message naming both shapes unless they are equal. */
  static void sameShape(String op, String aName, Tensor a, String bName, Tensor b) {
    if (!a.shape().equals(b.shape())) {
      throw new IllegalArgumentException(
          op + ": " + aName + " is " + a.shape() + " but " + bName + " is " + b.shape() + "; they must match");
    }
  }

  static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
