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
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Question: {@link OpPathForwardBench}'s question on ONE thread in thread CPU time (what the
 * calling thread ran, so the other processes of a shared machine inflate it far less than wall
 * time). Not JMH (JMH has no thread-CPU-time mode). For each policy and tracer mode: warm-up
 * forwards for at least {@code warmupSeconds}, then {@code reps} timed forwards; the rounds over
 * all cases are repeated {@code rounds} times, interleaved, so slow phases of the machine hit every
 * case alike. Prints one JSON line per case with every timing in milliseconds.
 *
 * <p>Arguments: {@code MODEL_DIR TOKENS REPS WARMUP_SECONDS ROUNDS POLICY[,POLICY...]}.
 */
public final class OpPathForwardCpuTime {

  private OpPathForwardCpuTime() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int tokens = Integer.parseInt(args[1]);
    int reps = Integer.parseInt(args[2]);
    double warmup = Double.parseDouble(args[3]);
    int rounds = Integer.parseInt(args[4]);
    String[] policies = args[5].split(",");
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    List<String> names = new ArrayList<>();
    List<Runnable> runs = new ArrayList<>();
    for (String name : policies) {
      PrecisionPolicy p = PrecisionPolicy.named(name);
      LlamaModel m = LlamaModel.load(dir, p.storage());
      int v = m.config().vocabSize();
      int[] tok = new int[tokens];
      tok[0] = 1;
      long s = 12345; // the same tokens as OpPathForwardBench
      for (int i = 1; i < tokens; i++) {
        s = s * 6364136223846793005L + 1442695040888963407L;
        tok[i] = 3 + (int) Long.remainderUnsigned(s >>> 17, v - 3);
      }
      SequenceBatch batch = new SequenceBatch(new int[][] {tok});
      for (String mode : new String[] {"off", "stats"}) {
        StatsTracer st =
            mode.equals("stats")
                ? new StatsTracer(new TraceContext(), Set.of(Phase.values()))
                : null;
        Tracer t = st == null ? Tracer.NONE : st;
        OpContext ctx = OpContext.DEFAULT.withThreads(1).withTracer(t);
        names.add(name + " " + mode);
        runs.add(() -> {
          if (st != null) {
            st.clear();
          }
          m.forward(batch, p, ctx, null, Hooks.none());
        });
      }
    }
    List<List<Double>> times = new ArrayList<>();
    for (int c = 0; c < runs.size(); c++) {
      times.add(new ArrayList<>());
      long end = System.nanoTime() + (long) (warmup * 1e9);
      do {
        runs.get(c).run();
      } while (System.nanoTime() < end);
    }
    boolean timeline = Boolean.getBoolean("nanscope.bench.timeline");
    for (int r = 0; r < rounds; r++) {
      for (int c = 0; c < runs.size(); c++) {
        for (int k = 0; k < reps; k++) {
          long w0 = System.currentTimeMillis();
          long t0 = mx.getCurrentThreadCpuTime();
          runs.get(c).run();
          double ms = (mx.getCurrentThreadCpuTime() - t0) / 1e6;
          times.get(c).add(ms);
          if (timeline) { // wall-clock window of each timed forward, to match profiler samples
            System.err.printf(
                Locale.ROOT,
                "timeline %s|%d|%d|%.3f%n",
                names.get(c),
                w0,
                System.currentTimeMillis(),
                ms);
          }
        }
      }
    }
    for (int c = 0; c < runs.size(); c++) {
      StringBuilder sb = new StringBuilder("{\"case\": \"" + names.get(c) + "\", \"ms\": [");
      for (int k = 0; k < times.get(c).size(); k++) {
        sb.append(k == 0 ? "" : ", ")
            .append(String.format(Locale.ROOT, "%.3f", times.get(c).get(k)));
      }
      System.out.println(sb.append("]}"));
    }
  }
}
