package io.nanscope.engine.autograd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.Tracer;
import java.util.List;

/** Builds the OPTIMIZER-phase records the optimisers send to a tracer. */
final class OptimizerRecords {

  private OptimizerRecords() {}

  /** Reports {@code out} with its unrounded FP32 values (dropped when {@code out} is FP32). */
  static void report(
      Tracer tracer,
      Site site,
      String op,
      List<Tensor> inputs,
      Tensor out,
      float[] unrounded,
      int step) {
    Tensor u =
        out.format() == FloatFormat.FP32
            ? null
            : Tensor.of(FloatFormat.FP32, out.shape(), unrounded);
    tracer.record(new OpRecord(site, op, Phase.OPTIMIZER, step, inputs, out, u));
  }
}
