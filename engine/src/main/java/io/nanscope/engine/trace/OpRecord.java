package io.nanscope.engine.trace;

import io.nanscope.engine.tensor.Tensor;
import java.util.List;

/**
 * What an op reports to a {@link Tracer} after it ran.
 *
 * @param site where it ran
 * @param op the op's name ({@code matmul}, {@code rmsnorm}, {@code swiglu}, …)
 * @param phase forward, backward, optimiser, rank-one update or generation
 * @param step the optimisation step or decode position the caller is at (-1 if none)
 * @param inputs the op's inputs, as stored
 * @param output the op's output, as stored (rounded to its format)
 * @param unrounded the output before rounding to its format, in FP32 (or null when the output is
 *     FP32 or the op did not keep it); overflow = finite here but ±inf or saturated in {@code
 *     output}, underflow = non-zero here but zero in {@code output}
 * @param stats {@code TensorStats.of(output, unrounded)} when the op counted it in its own loop
 *     (attention's P, row by row while the row is in cache), else null: a tracer that wants the
 *     stats uses it instead of a pass of its own ({@link #statsOf()})
 */
public record OpRecord(
    Site site,
    String op,
    Phase phase,
    int step,
    List<Tensor> inputs,
    Tensor output,
    Tensor unrounded,
    TensorStats stats) {

  /** A record without precomputed stats. */
  public OpRecord(
      Site site,
      String op,
      Phase phase,
      int step,
      List<Tensor> inputs,
      Tensor output,
      Tensor unrounded) {
    this(site, op, phase, step, inputs, output, unrounded, null);
  }

  /** The stats of the output (with its unrounded values): the op's own count, or one pass now. */
  public TensorStats statsOf() {
    return stats != null ? stats : TensorStats.of(output, unrounded);
  }
}
