package io.nanscope.bench;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.generate.Generator;
import io.nanscope.llama.generate.Sampler;
import io.nanscope.llama.model.DecodeSession;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
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
 * Question: how many positions per second does the decode step reach on a real model, on 1 and 2
 * threads? One operation = a fresh KV cache and {@code positions} decode steps over the tokens of
 * the greedy continuation of {@code prompt} (the same tokens llama2.c's run.c processes for {@code
 * -n positions}), so tokens/s = positions × ops/s. {@code scripts/bench-decode.sh} runs it next to
 * the C reference.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 8, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
public class DecodeBench {

  /** Model path; empty = models/stories260K under -Dnanscope.home or the working directory. */
  @Param({""})
  public String model;

  @Param({"fp32"})
  public String policy;

  @Param({"1", "2"})
  public int threads;

  @Param({"256"})
  public int positions;

  @Param({"Once upon a time"})
  public String prompt;

  LlamaModel m;
  PrecisionPolicy p;
  OpContext ctx;
  int[] tokens;

  @Setup
  public void setUp() throws IOException {
    Path dir =
        model.isEmpty()
            ? Path.of(System.getProperty("nanscope.home", "")).resolve("models/stories260K")
            : Path.of(model);
    m = LlamaModel.load(dir);
    p = PrecisionPolicy.named(policy);
    ctx = OpContext.DEFAULT.withThreads(threads);
    Tokenizer tok = Tokenizer.readFromDirectory(dir);
    Generator.Result r =
        new Generator(m, tok, p, ctx).generate(prompt, positions, Sampler.greedy(), null);
    if (r.positions() != positions) {
      throw new IllegalStateException(
          "the greedy continuation of '"
              + prompt
              + "' stops after "
              + r.positions()
              + " positions; pick fewer");
    }
    tokens = Arrays.copyOf(r.tokens(), positions);
  }

  @Benchmark
  public float decode() {
    DecodeSession d = m.decoder(p, ctx);
    float last = 0;
    for (int t : tokens) {
      last = d.next(t)[0];
    }
    return last;
  }
}
