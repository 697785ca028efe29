package io.nanscope.bench;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.generate.Generator;
import io.nanscope.llama.generate.Sampler;
import io.nanscope.llama.model.DecodeSession;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Question: how many positions per second of CPU time does the 1-thread decode step take? The
 * companion of {@link DecodeBench} for a shared machine: wall time counts the time other processes
 * hold the core, the CPU time of the decoding thread does not (it still pays for a busy sibling
 * hyperthread), so it compares with the C reference's user+sys time (scripts/bench-decode.sh). Same
 * work as DecodeBench: a fresh KV cache and {@code positions} steps over the greedy continuation of
 * the prompt. Prints one tok/s figure per measured round (10 sessions each) after {@code warmup}
 * rounds.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar
 * io.nanscope.bench.DecodeCpuTime MODEL_DIR POSITIONS PROMPT [WARMUP=20] [ROUNDS=20]}
 */
public final class DecodeCpuTime {

  private DecodeCpuTime() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 3) {
      System.err.println("usage: DecodeCpuTime MODEL_DIR POSITIONS PROMPT [WARMUP] [ROUNDS]");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    int positions = Integer.parseInt(args[1]);
    int warmup = args.length > 3 ? Integer.parseInt(args[3]) : 20;
    int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 20;
    LlamaModel m = LlamaModel.load(dir);
    PrecisionPolicy p = PrecisionPolicy.named("fp32");
    OpContext ctx = OpContext.DEFAULT;
    Generator.Result r =
        new Generator(m, Tokenizer.readFromDirectory(dir), p, ctx)
            .generate(args[2], positions, Sampler.greedy(), null);
    if (r.positions() != positions) {
      throw new IllegalStateException(
          "the greedy continuation stops after " + r.positions() + " positions; pick fewer");
    }
    int[] tokens = Arrays.copyOf(r.tokens(), positions);
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    float sink = 0;
    for (int round = 0; round < warmup + rounds; round++) {
      long t0 = threads.getCurrentThreadCpuTime();
      for (int session = 0; session < 10; session++) {
        DecodeSession d = m.decoder(p, ctx);
        for (int t : tokens) {
          sink += d.next(t)[0];
        }
      }
      long ns = threads.getCurrentThreadCpuTime() - t0;
      if (round >= warmup) {
        System.out.printf(Locale.ROOT, "%.1f%n", 10.0 * positions / (ns * 1e-9));
      }
    }
    System.err.println("checksum " + sink); // keeps the logits live
  }
}
