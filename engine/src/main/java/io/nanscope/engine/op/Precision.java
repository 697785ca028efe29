package io.nanscope.engine.op;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.RoundingSpec;
import java.util.Objects;

/**
 * How one op rounds: the format of its output, of its running sums, and of its element-wise
 * intermediates. Always passed to an op as an argument (docs/architecture.md, design rules); a
 * {@link PrecisionPolicy} picks one per op kind and site.
 *
 * <ul>
 *   <li>{@code output}: every value the op returns is rounded once to this format (nearest-even,
 *       IEEE overflow to infinity, the format's default rounding).
 *   <li>{@code accumulate}: the format the running sum of a reduction (dot product, row sum, mean)
 *       is held in. Each product and each partial sum is rounded to it, in a fixed sequential
 *       order. FP32 mirrors cuBLAS and PyTorch's FP32 "opmath" reductions; a 16-bit accumulator
 *       rounds at every step (the {@code strict} policies: {@code ones(10000).sum()} gives 2048 in
 *       FP16).
 *   <li>{@code compute}: the format every element-wise intermediate inside an op is rounded to
 *       ({@code x²} in RMSNorm, {@code exp} in softmax, {@code σ(x)} in SiLU). FP32 mirrors
 *       PyTorch's upcasts; the storage format reproduces a model run without them ({@code naive}).
 * </ul>
 *
 * <p>Arithmetic: each + − × ÷ √ is computed in double from values of at most FP32 precision and
 * then rounded once to the target format; for FP32 targets the double result is already correctly
 * rounded in double and 53 ≥ 2·24+2 makes the second rounding harmless (docs/reference/numerics.md
 * §1), so the result is the correctly rounded one. {@code exp} and {@code log} are {@link
 * Math#exp}/{@link Math#log} (within 1 ulp of double) rounded the same way.
 *
 * <p>{@code rounding} is how values are rounded to the OUTPUT format (the op's result and the
 * intermediate tensors an op materialises in that format, like RMSNorm's x̂): the mode, the
 * overflow rule (IEEE infinity or saturate to ±maxFinite) and subnormal flushing, with stochastic
 * draws indexed by the element's flat position (reproducible for any thread count; the same seed
 * gives the same draws in every op, so give policy entries distinct seeds for independent draws).
 * Accumulation and compute roundings, and gradients, always round to nearest-even, as hardware
 * does.
 *
 * @param output format of the op's outputs
 * @param accumulate format of running sums (products and partial sums rounded to it at each step)
 * @param compute format of element-wise intermediates
 * @param rounding how values are rounded to {@code output}
 */
public record Precision(
    FloatFormat output, FloatFormat accumulate, FloatFormat compute, RoundingSpec rounding) {

  /** Everything in FP64: the reference every op can run in (gradient checks use it). */
  public static final Precision FP64 = uniform(FloatFormat.FP64);

  /** Everything in FP32. */
  public static final Precision FP32 = uniform(FloatFormat.FP32);

  public Precision {
    Objects.requireNonNull(output, "output");
    Objects.requireNonNull(accumulate, "accumulate");
    Objects.requireNonNull(compute, "compute");
    Objects.requireNonNull(rounding, "rounding (use RoundingSpec.NEAREST_EVEN)");
  }

  /** Nearest-even output rounding (the IEEE default). */
  public Precision(FloatFormat output, FloatFormat accumulate, FloatFormat compute) {
    this(output, accumulate, compute, RoundingSpec.NEAREST_EVEN);
  }

  /** One format for output, accumulation and intermediates. */
  public static Precision uniform(FloatFormat format) {
    return new Precision(format, format, format);
  }

  /** The same precision with another output format. */
  public Precision withOutput(FloatFormat format) {
    return new Precision(format, accumulate, compute, rounding);
  }

  /** The same precision with another output rounding (mode, overflow rule, subnormals, seed). */
  public Precision withRounding(RoundingSpec spec) {
    return new Precision(output, accumulate, compute, spec);
  }

  /**
   * Whether every accumulation step is rounded to a format narrower than FP32 (slow, for teaching).
   */
  public boolean strict() {
    return accumulate.info().precisionBits() < FloatFormat.FP32.info().precisionBits();
  }

  /**
   * {@code v}, element {@code index} of a tensor in the output format, rounded with {@link
   * #rounding()}.
   */
  public double roundOutput(double v, long index) {
    return round(output, rounding, v, index);
  }

  /** {@code v} rounded to the compute format. */
  public double roundCompute(double v) {
    return round(compute, v);
  }

  /** {@code v} rounded to the accumulator format. */
  public double roundAccumulate(double v) {
    return round(accumulate, v);
  }

  /** One accumulation step: {@code round_acc(sum + round_acc(term))}. */
  public double accumulate(double sum, double term) {
    return round(accumulate, sum + round(accumulate, term));
  }

  /**
   * {@code v} rounded once to {@code format} (nearest-even, the format's IEEE default): exact for
   * FP64, the JLS narrowing for FP32, and {@link FloatFormat#round(double)} otherwise (no double
   * rounding through FP32), with a fast path when {@code v} is already a float.
   */
  public static double round(FloatFormat format, double v) {
    if (format == FloatFormat.FP64) {
      return v;
    }
    float f = (float) v;
    if (format == FloatFormat.FP32) {
      return f;
    }
    return f == v ? format.round(f) : format.round(v);
  }

  /**
   * {@code v} rounded once to {@code format} with {@code spec}; {@code index} picks the stochastic
   * draw.
   */
  public static double round(FloatFormat format, RoundingSpec spec, double v, long index) {
    return spec.isIeeeDefault() ? round(format, v) : format.round(v, spec, index);
  }

  /** Like {@code output=fp16 accumulate=fp32 compute=fp32}. */
  @Override
  public String toString() {
    return "output="
        + output
        + " accumulate="
        + accumulate
        + " compute="
        + compute
        + (rounding.isIeeeDefault() ? "" : " rounding=" + rounding);
  }
}
