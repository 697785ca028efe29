package io.nanscope.bench;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.LogSoftmax;
import io.nanscope.engine.op.Nll;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.simd.Kernels;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.model.DecodeSession;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Questions of the op-path issue, timed in CPU time of the one working thread (a shared machine:
 * wall time counts the time other processes hold the core; everything here runs on 1 thread, so the
 * thread's CPU time is all the work). Prints one JSON line per measured round.
 *
 * <ul>
 *   <li>{@code forward MODEL TOKENS WARMUP ROUNDS}: tokens per CPU second of one sequence-mode
 *       forward (no tape) of TOKENS positions through the ops, per policy (fp32, pytorch-fp16,
 *       pytorch-bf16), and of the {@code Fp32Decoder} decoding the same TOKENS positions; the
 *       variants alternate within each round.
 *   <li>{@code step MODEL LAYER WARMUP ROUNDS frozen|whole}: one ROME v* step (forward + backward
 *       to δ) on 21 prompts of 18–22 tokens plus a 6-token KL prompt, δ added at LAYER at each
 *       row's token 3, loss = NLL of each prompt's last 3 tokens (KL and weight decay are O(V) and
 *       O(C) and left out). {@code frozen}: from the prefix computed once ({@code
 *       forwardFromMlpOutput}); {@code whole}: the whole forward per step, as before and as
 *       EasyEdit. FLOPs counted from the shapes (below), GFLOP/s per CPU second.
 *   <li>{@code gemm M N K WEIGHTS WARMUP ROUNDS}: {@code Kernels.matmulNT} on 1 thread, GFLOP/s per
 *       CPU second: the step's yardstick.
 * </ul>
 *
 * <p>FLOPs of a step (N = B·T rows including padding, C, F, V, H, Hkv, D as in the config): each
 * full layer's GEMMs {@code 2·N·C·(2C + 2·Hkv·D) + 3·2·N·C·F}, attention {@code 2·2·B·H·T²·D} (q·kᵀ
 * and P·v counted dense, as a GPU kernel without causal skipping runs them), the head {@code
 * 2·N·C·V}; the backward runs dX of every GEMM above the edited layer (the same FLOPs as its
 * forward) and 4 attention products per layer (dP, dQ, dK, dV). Element-wise work is not counted.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -cp benchmarks.jar
 * io.nanscope.bench.OpPathCpuTime SECTION ARGS…}
 */
public final class OpPathCpuTime {

  private OpPathCpuTime() {}

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static double sink;

  public static void main(String[] args) throws IOException {
    if (args.length == 0) {
      usage();
    }
    switch (args[0]) {
      case "forward" ->
          forward(
              Path.of(args[1]),
              Integer.parseInt(args[2]),
              Integer.parseInt(args[3]),
              Integer.parseInt(args[4]));
      case "step" ->
          step(
              Path.of(args[1]),
              Integer.parseInt(args[2]),
              Integer.parseInt(args[3]),
              Integer.parseInt(args[4]),
              args[5]);
      case "gemm" ->
          gemm(
              Integer.parseInt(args[1]),
              Integer.parseInt(args[2]),
              Integer.parseInt(args[3]),
              args[4],
              Integer.parseInt(args[5]),
              Integer.parseInt(args[6]));
      default -> usage();
    }
    System.err.println("checksum " + sink);
  }

  private static void usage() {
    System.err.println(
        "usage: OpPathCpuTime forward MODEL TOKENS WARMUP ROUNDS | step MODEL LAYER WARMUP ROUNDS"
            + " frozen|whole | gemm M N K fp32|bf16|fp16 WARMUP ROUNDS");
    System.exit(2);
  }

  private static long cpu() {
    return THREADS.getCurrentThreadCpuTime();
  }

  /** A fixed pseudo-random token sequence after BOS (the op path's cost does not depend on it). */
  static int[] tokens(int n, int vocab, long seed) {
    int[] tok = new int[n];
    tok[0] = 1;
    long s = seed;
    for (int i = 1; i < n; i++) {
      s = s * 6364136223846793005L + 1442695040888963407L;
      tok[i] = 3 + (int) Long.remainderUnsigned(s >>> 17, vocab - 3);
    }
    return tok;
  }

  private static void forward(Path dir, int n, int warmup, int rounds) throws IOException {
    String[] policies = {"fp32", "pytorch-fp16", "pytorch-bf16"};
    LlamaModel[] models = new LlamaModel[policies.length];
    for (int i = 0; i < policies.length; i++) {
      models[i] = LlamaModel.load(dir, PrecisionPolicy.named(policies[i]).storage());
    }
    LlamaModel dec = LlamaModel.load(dir);
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    int[] tok = tokens(n, dec.config().vocabSize(), 12345);
    SequenceBatch batch = new SequenceBatch(new int[][] {tok});
    for (int round = 0; round < warmup + rounds; round++) {
      for (int i = 0; i < policies.length; i++) {
        PrecisionPolicy p = PrecisionPolicy.named(policies[i]);
        long t0 = cpu();
        sink +=
            models[i]
                .forward(batch, p, OpContext.DEFAULT, null, Hooks.none())
                .logits()
                .value()
                .get(0);
        report(
            round >= warmup,
            "forward",
            "op-path " + policies[i],
            n / ((cpu() - t0) * 1e-9),
            "tokens_per_cpu_s");
      }
      long t0 = cpu();
      DecodeSession d = dec.decoder(fp32, OpContext.DEFAULT);
      for (int t : tok) {
        sink += d.next(t)[0];
      }
      report(
          round >= warmup,
          "forward",
          "fp32-decoder",
          n / ((cpu() - t0) * 1e-9),
          "tokens_per_cpu_s");
    }
  }

  private static void step(Path dir, int layer, int warmup, int rounds, String variant)
      throws IOException {
    LlamaModel m = LlamaModel.load(dir);
    PrecisionPolicy p = PrecisionPolicy.named("fp32");
    LlamaConfig c = m.config();
    int b = 22;
    int[][] rows = new int[b][];
    for (int i = 0; i < b; i++) {
      rows[i] = tokens(i == b - 1 ? 6 : 18 + i % 5, c.vocabSize(), 1000 + i);
    }
    SequenceBatch batch = new SequenceBatch(rows);
    int t = batch.length();
    int[] targets = new int[b * t];
    boolean[] mask = new boolean[b * t];
    for (int i = 0; i < b - 1; i++) {
      for (int j = rows[i].length - 3; j < rows[i].length; j++) {
        mask[i * t + j] = true;
        targets[i * t + j] = rows[i][j];
      }
    }
    boolean frozen =
        switch (variant) {
          case "frozen" -> true;
          case "whole" -> false;
          default ->
              throw new IllegalArgumentException("variant must be frozen or whole, got " + variant);
        };
    long t0 = cpu();
    LlamaModel.MlpOutputPrefix prefix =
        frozen ? m.forwardToMlpOutput(batch, p, OpContext.DEFAULT, layer, Hooks.none()) : null;
    if (frozen) {
      report(true, "step-prefix", "once per record", (cpu() - t0) * 1e-9, "cpu_s");
    }
    double flops = stepFlops(c, b, t, layer, frozen);
    Tensor delta = Tensor.zeros(FloatFormat.FP32, Shape.of(c.dim()));
    Site loss = new Site("loss");
    for (int round = 0; round < warmup + rounds; round++) {
      long s0 = cpu();
      Tape tape = new Tape();
      Var d = tape.param(delta, "delta");
      Hooks hooks = Hooks.none();
      for (int i = 0; i < b; i++) {
        hooks = hooks.addToMlpOutput(layer, i, 3, d);
      }
      Var logits =
          frozen
              ? m.forwardFromMlpOutput(prefix, p, OpContext.DEFAULT, tape, hooks).logits()
              : m.forward(batch, p, OpContext.DEFAULT, tape, hooks).logits();
      Var logp =
          LogSoftmax.apply(
              tape, OpContext.DEFAULT, loss.child("log_softmax"), Precision.FP32, logits);
      Var nll =
          Nll.apply(
              tape, OpContext.DEFAULT, loss.child("nll"), Precision.FP32, logp, targets, mask);
      tape.backward(nll);
      sink += d.grad().get(0);
      double s = (cpu() - s0) * 1e-9;
      if (round >= warmup) {
        System.out.printf(
            Locale.ROOT,
            "{\"what\":\"step\",\"variant\":\"%s\",\"layer\":%d,\"rows\":%d,\"t\":%d,\"gflop\":%.3f,"
                + "\"cpu_s\":%.4f,\"gflops_per_cpu_s\":%.3f}%n",
            variant,
            layer,
            b,
            t,
            flops / 1e9,
            s,
            flops / s / 1e9);
      }
    }
  }

  /** The FLOPs of one step, counted as the class javadoc says. */
  static double stepFlops(LlamaConfig c, int b, int t, int layer, boolean frozen) {
    double n = (double) b * t, cd = c.dim(), f = c.hiddenDim(), v = c.vocabSize();
    double d = cd / c.nHeads(), kv = c.nKvHeads() * d;
    double gemm = 2 * n * cd * (2 * cd + 2 * kv) + 3 * 2 * n * cd * f;
    double attn = 2 * 2 * (double) b * c.nHeads() * t * t * d;
    double head = 2 * n * cd * v;
    int above = c.nLayers() - 1 - layer;
    double forward = (above + (frozen ? 0 : layer + 1)) * (gemm + attn) + head;
    double backward = above * (gemm + 2 * attn) + head;
    return forward + backward;
  }

  private static void gemm(int m, int n, int k, String weights, int warmup, int rounds) {
    Tensor a = BenchData.random(FloatFormat.FP32, m, k, 1);
    Tensor w = BenchData.random(BenchData.format(weights), n, k, 2);
    float[] out = new float[m * n];
    double flops = 2.0 * m * n * k;
    for (int round = 0; round < warmup + rounds; round++) {
      long t0 = cpu();
      Kernels.matmulNT(a, w, out, 1);
      sink += out[0];
      report(
          round >= warmup,
          "gemm",
          m + "x" + n + "x" + k + " " + weights,
          flops / ((cpu() - t0) * 1e-9) / 1e9,
          "gflops_per_cpu_s");
    }
  }

  private static void report(
      boolean measured, String what, String variant, double value, String unit) {
    if (measured) {
      System.out.printf(
          Locale.ROOT,
          "{\"what\":\"%s\",\"variant\":\"%s\",\"%s\":%.4f}%n",
          what,
          variant,
          unit,
          value);
    }
  }
}
