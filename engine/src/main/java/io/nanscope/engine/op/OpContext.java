package io.nanscope.engine.op;

import io.nanscope.engine.trace.Tracer;
import java.util.Objects;

/**
 * What every op call needs besides its operands and its {@link Precision}: the tracer it reports
 * to, the number of threads its GEMMs may use (results do not depend on it), and the optimisation
 * step or decode position to stamp on trace records.
 *
 * @param tracer where ops report (Tracer.NONE to skip all tracing work)
 * @param threads threads for the GEMM kernels, at least 1
 * @param step optimisation step or decode position, -1 if none
 */
public record OpContext(Tracer tracer, int threads, int step) {

  /** No tracing, one thread, no step. */
  public static final OpContext DEFAULT = new OpContext(Tracer.NONE, 1, -1);

  public OpContext {
    Objects.requireNonNull(tracer, "tracer (use Tracer.NONE)");
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
  }

  public OpContext withTracer(Tracer t) {
    return new OpContext(t, threads, step);
  }

  public OpContext withThreads(int n) {
    return new OpContext(tracer, n, step);
  }

  public OpContext withStep(int s) {
    return new OpContext(tracer, threads, s);
  }
}
