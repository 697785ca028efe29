package io.nanscope.editing.report;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.LogSoftmax;
import io.nanscope.engine.op.Nll;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.AnomalyTracer;
import io.nanscope.engine.trace.ChainLink;
import io.nanscope.engine.trace.CompositeTracer;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.JsonLines;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.engine.trace.StatsTable;
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TensorStats;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One traced pass of the model over a prompt — the {@code trace} command's measurement, reusable
 * by any report that wants the headroom of a model: the forward pass under a policy with a {@link
 * StatsTracer} and a recording {@link AnomalyTracer}, the next-token NLL (HF's causal-LM loss:
 * position t predicts token t+1, the last position predicts nothing), and optionally the backward
 * pass of that loss with every weight a parameter, so the activation gradients ({@code *.dx}) and
 * the weight gradients ({@code *.dw}) of every site are traced too.
 */
public final class PromptTrace {

  private PromptTrace() {}

  /**
   * What one traced pass measured.
   *
   * @param policy the precision policy it ran under
   * @param tokens the prompt's token ids (with BOS)
   * @param loss the next-token NLL (NaN for a one-token prompt, which predicts nothing)
   * @param backward whether the backward pass ran
   * @param rows one row per traced op, in execution order
   * @param first the first op whose output held a NaN or inf its inputs did not, if any
   * @param chain the ops with non-finite outputs from the first event on
   */
  public record Result(
      PrecisionPolicy policy, int[] tokens, double loss, boolean backward, List<SiteStats> rows,
      Optional<FirstNonFinite> first, List<ChainLink> chain, List<String> jsonLines) {

    public Result {
      tokens = tokens.clone();
      rows = List.copyOf(rows);
      chain = List.copyOf(chain);
      jsonLines = List.copyOf(jsonLines);
    }

    /** The rows of one phase. */
    public List<SiteStats> rows(Phase phase) {
      return rows.stream().filter(r -> r.at().phase() == phase).toList();
    }

    /** The row with the least headroom in {@code format} among rows without NaN/inf, if any. */
    public Optional<SiteStats> tightest(Phase phase, FloatFormat format) {
      return rows(phase).stream().filter(r -> r.output().nonFinite() == 0)
          .min(java.util.Comparator.comparingDouble(r -> r.output().headroomIn(format)));
    }

    /** Sum of overflow, underflow, subnormal and element counts over the rows of a phase. */
    public long[] totals(Phase phase) {
      long over = 0, under = 0, sub = 0, n = 0;
      for (SiteStats r : rows(phase)) {
        TensorStats o = r.output();
        over += o.overflow();
        under += o.underflow();
        sub += o.subnormal();
        n += o.count();
      }
      return new long[] {over, under, sub, n};
    }

    /** Writes the stats rows, then the anomaly events and chain, as one JSON Lines file (atomically). */
    public void writeJsonl(Path file) {
      JsonLines.write(file, jsonLines);
    }
  }

  /**
   * Runs the prompt.
   *
   * @param tokens the prompt's ids (with BOS), at most the model's maxSeqLen; at least 2 for backward
   * @param threads GEMM threads (results do not depend on it)
   */
  public static Result run(LlamaModel model, int[] tokens, PrecisionPolicy policy, int threads, boolean backward) {
    int t = tokens.length;
    if (t == 0) {
      throw new IllegalArgumentException("the prompt encodes to no tokens: pass a non-empty prompt");
    }
    if (t > model.config().maxSeqLen()) {
      throw new IllegalArgumentException("the prompt has " + t + " tokens, more than the model's "
          + model.config().maxSeqLen() + " positions: shorten it");
    }
    if (backward && t < 2) {
      throw new IllegalArgumentException(
          "--backward needs a prompt of at least 2 tokens (BOS + one): the loss predicts each next token");
    }
    TraceContext tc = new TraceContext().setLabel(policy.name());
    StatsTracer stats = new StatsTracer(tc);
    AnomalyTracer anomaly = AnomalyTracer.recording(tc);
    OpContext ctx = OpContext.DEFAULT.withThreads(threads).withTracer(CompositeTracer.of(stats, anomaly));
    Tape tape = new Tape();
    Map<String, Var> params = backward ? model.weightsAsParams(tape, name -> true) : Map.of();
    SequenceOutput out = model.forward(SequenceBatch.of(tokens), policy, ctx, tape, Hooks.none(), params);
    double loss = Double.NaN;
    if (t >= 2) {
      // HF LlamaForCausalLM: logits[:-1] predict tokens[1:]; the last position is masked out.
      int[] targets = new int[t];
      boolean[] mask = new boolean[t];
      for (int i = 0; i + 1 < t; i++) {
        targets[i] = tokens[i + 1];
        mask[i] = true;
      }
      Site ls = new Site("loss"), lsm = ls.child("log_softmax"), nll = ls.child("nll");
      Var logp = LogSoftmax.apply(tape, ctx, lsm, policy.of(OpKind.LOG_SOFTMAX, lsm), out.logits());
      Var l = Nll.apply(tape, ctx, nll, policy.of(OpKind.LOSS, nll), logp, targets, mask);
      loss = l.value().get(0);
      if (backward) {
        tape.backward(l);
      }
    }
    List<String> json = new ArrayList<>();
    stats.rows().forEach(r -> json.add(r.toJson().toString()));
    anomaly.toJson().forEach(j -> json.add(j.toString()));
    return new Result(policy, tokens, loss, backward, stats.rows(), anomaly.first(), anomaly.chain(), json);
  }

  /**
   * The marker of each row as {@link StatsTable#render} prints it ({@code !!}, {@code <1}, … or
   * ""), read back from the rendered table so the HTML highlights exactly what the console does.
   */
  public static List<String> marks(List<SiteStats> rows, FloatFormat rankBy, int tightest) {
    List<String> lines = StatsTable.render(rows, rankBy, tightest).lines().toList();
    if (lines.size() != rows.size() + 2) {
      throw new IllegalStateException("StatsTable printed " + lines.size() + " lines for " + rows.size() + " rows");
    }
    List<String> marks = new ArrayList<>();
    for (String l : lines.subList(2, lines.size())) {
      marks.add(l.length() < 2 ? l.strip() : l.substring(0, 2).strip());
    }
    return marks;
  }

  /** The HTML table's headers, in {@link StatsTable}'s order. */
  public static final List<String> HEADERS = List.of("mark", "layer", "site", "phase", "op", "format", "max|x|",
      "min|x|>0", "headroom fp16", "headroom bf16", "overflow", "underflow", "subnormal", "nan", "inf");

  /**
   * Adds the teaching view of a trace to a report: the precision of every op kind, the forward
   * (and backward) layer × site FP16 headroom heatmaps, log2 max|x| per layer of the tightest sites
   * against FP16's limit, the per-site table with the tightest rows highlighted, and the
   * first-overflow event (or a line saying there was none).
   */
  public static Report addTo(Report r, Result res, FloatFormat rankBy, int tightest) {
    String p = res.policy().name();
    r.pre("precision of every op kind", res.policy().describe());
    for (Phase phase : List.of(Phase.FORWARD, Phase.BACKWARD)) {
      if (res.rows(phase).isEmpty()) {
        continue;
      }
      String ph = phase.name().toLowerCase(java.util.Locale.ROOT);
      r.heatmap(HeadroomGrid.of(res.rows(), phase, FloatFormat.FP16)
          .heatmap(ph + " headroom in fp16, policy " + p + " (log2 65,504 / max|x|)"));
    }
    maxAbsPerLayer(r, res, rankBy);
    List<SiteStats> rows = res.rows();
    List<String> marks = marks(rows, rankBy, tightest);
    List<List<String>> cells = new ArrayList<>();
    Set<Integer> hl = new HashSet<>();
    for (int i = 0; i < rows.size(); i++) {
      SiteStats s = rows.get(i);
      TensorStats o = s.output();
      String u = o.hasUnrounded() ? null : "-";
      cells.add(List.of(marks.get(i), s.layer() < 0 ? "-" : Integer.toString(s.layer()), s.siteInLayer(),
          s.at().phaseName(), s.at().op(), o.format().name(), Text.num(o.maxAbs()), Text.num(o.minAbsNonZero()),
          binades(o.headroomIn(FloatFormat.FP16)), binades(o.headroomIn(FloatFormat.BF16)),
          u != null ? u : Long.toString(o.overflow()), u != null ? u : Long.toString(o.underflow()),
          Long.toString(o.subnormal()), Long.toString(o.nan()), Long.toString(o.infinities())));
      if (!marks.get(i).isEmpty()) {
        hl.add(i);
      }
    }
    r.table("per-site table (highlighted: the " + tightest + " tightest in " + rankBy.name()
        + ", and !! for NaN/inf or negative headroom)", HEADERS, cells, hl);
    if (res.first().isPresent()) {
      r.event(res.first().get(), res.chain());
    } else {
      r.text("No op produced a NaN or an infinity under " + p + ".");
    }
    return r;
  }

  private static String binades(double h) {
    return Double.isFinite(h) ? String.format(java.util.Locale.ROOT, "%.2f", h) : Text.num(h);
  }

  /**
   * log2 max|x| per layer of the forward sites (inside layers) with the least headroom, with
   * {@code rankBy}'s log2 maxFinite as a reference line: the distance between a curve and that line
   * is the headroom.
   */
  private static void maxAbsPerLayer(Report r, Result res, FloatFormat rankBy) {
    Map<String, double[]> bySite = new LinkedHashMap<>();
    int layers = 0;
    for (SiteStats s : res.rows(Phase.FORWARD)) {
      layers = Math.max(layers, s.layer() + 1);
    }
    if (layers == 0) {
      return;
    }
    Map<String, Double> minHeadroom = new LinkedHashMap<>();
    for (SiteStats s : res.rows(Phase.FORWARD)) {
      if (s.layer() < 0 || s.output().maxAbs() == 0) {
        continue;
      }
      int n = layers;
      double[] v = bySite.computeIfAbsent(s.siteInLayer(), k -> {
        double[] a = new double[n];
        java.util.Arrays.fill(a, Double.NaN);
        return a;
      });
      double lg = s.output().nonFinite() > 0 ? Double.POSITIVE_INFINITY : Math.log(s.output().maxAbs()) / Math.log(2);
      v[s.layer()] = Double.isNaN(v[s.layer()]) ? lg : Math.max(v[s.layer()], lg);
      minHeadroom.merge(s.siteInLayer(), s.output().nonFinite() > 0 ? Double.NEGATIVE_INFINITY
          : s.output().headroomIn(rankBy), Math::min);
    }
    List<String> top = minHeadroom.entrySet().stream().sorted(Map.Entry.comparingByValue()).limit(5)
        .map(Map.Entry::getKey).toList();
    Map<String, double[]> series = new LinkedHashMap<>();
    double[] limit = new double[layers];
    java.util.Arrays.fill(limit, Math.log(rankBy.info().maxFinite()) / Math.log(2));
    series.put(rankBy.name() + " maxFinite", limit);
    for (String s : top) {
      series.put(s, bySite.get(s));
    }
    double[] x = new double[layers];
    for (int i = 0; i < layers; i++) {
      x[i] = i;
    }
    r.lineChart("log2 max|x| per layer, the 5 tightest forward sites", "layer", "log2 max|x|", x, series);
  }
}
