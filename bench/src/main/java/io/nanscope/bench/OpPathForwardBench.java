package io.nanscope.bench;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Question: how long does one emulated forward pass through the ops take (sequence mode, no tape,
 * stories260K, {@code tokens} positions), per precision policy, with the tracer off and with a
 * {@link StatsTracer} recording every op? One operation = {@code LlamaModel.forward} of one
 * sequence, weights stored in the policy's storage format (as {@code ./nanscope trace} loads them).
 * The ratios the op-path issue asks for: pytorch-fp16 / fp32 and pytorch-bf16 / fp32 at tracer off,
 * and stats / off per policy. The tokens are a fixed pseudo-random sequence after BOS (the op
 * path's cost does not depend on which tokens they are).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 8, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
public class OpPathForwardBench {

  /** Model path; empty = models/stories260K under -Dnanscope.home or the working directory. */
  @Param({""})
  public String model;

  @Param({"fp32", "pytorch-fp16", "pytorch-bf16"})
  public String policy;

  /** {@code off} (Tracer.NONE) or {@code stats} (a StatsTracer over every phase). */
  @Param({"off", "stats"})
  public String tracer;

  @Param({"256"})
  public int tokens;

  @Param({"1"})
  public int threads;

  LlamaModel m;
  PrecisionPolicy p;
  SequenceBatch batch;
  StatsTracer stats;
  OpContext ctx;

  @Setup
  public void setUp() throws IOException {
    Path dir =
        model.isEmpty()
            ? Path.of(System.getProperty("nanscope.home", "")).resolve("models/stories260K")
            : Path.of(model);
    p = PrecisionPolicy.named(policy);
    m = LlamaModel.load(dir, p.storage());
    int v = m.config().vocabSize();
    int[] tok = new int[tokens];
    tok[0] = 1; // BOS
    long s = 12345;
    for (int i = 1; i < tokens; i++) {
      s = s * 6364136223846793005L + 1442695040888963407L;
      tok[i] = 3 + (int) Long.remainderUnsigned(s >>> 17, v - 3);
    }
    batch = new SequenceBatch(new int[][] {tok});
    Tracer t;
    switch (tracer) {
      case "off" -> t = Tracer.NONE;
      case "stats" -> {
        stats = new StatsTracer(new TraceContext(), Set.of(Phase.values()));
        t = stats;
      }
      default -> throw new IllegalArgumentException("tracer must be off or stats, got " + tracer);
    }
    ctx = OpContext.DEFAULT.withThreads(threads).withTracer(t);
  }

  @Benchmark
  public float forward() {
    if (stats != null) {
      stats.clear(); // the rows of one forward, not of every iteration
    }
    return m.forward(batch, p, ctx, null, Hooks.none()).logits().value().get(0);
  }
}
