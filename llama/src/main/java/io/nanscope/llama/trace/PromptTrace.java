package io.nanscope.llama.trace;

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
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TensorStats;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * One traced pass of the model over a prompt — the {@code trace} command's measurement, reusable by
 * any report that wants the headroom of a model: the forward pass under a policy with a {@link
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
   * @param jsonLines the stats rows, then the anomaly events and chain, as JSON Lines
   * @param events every op that created a NaN or inf its inputs did not hold, in order; each with
   *     its role (producer or propagator) and its first offending elements traced to their operands
   */
  public record Result(
      PrecisionPolicy policy,
      int[] tokens,
      double loss,
      boolean backward,
      List<SiteStats> rows,
      Optional<FirstNonFinite> first,
      List<ChainLink> chain,
      List<String> jsonLines,
      List<FirstNonFinite> events) {

    public Result {
      tokens = tokens.clone();
      rows = List.copyOf(rows);
      chain = List.copyOf(chain);
      jsonLines = List.copyOf(jsonLines);
      events = List.copyOf(events);
    }

    /** The first event that created NaN (after an overflow: the propagator), if any. */
    public Optional<FirstNonFinite> firstNewNan() {
      return events.stream().filter(FirstNonFinite::newNan).findFirst();
    }

    /** The rows of one phase. */
    public List<SiteStats> rows(Phase phase) {
      return rows.stream().filter(r -> r.at().phase() == phase).toList();
    }

    /** The row with the least headroom in {@code format} among rows without NaN/inf, if any. */
    public Optional<SiteStats> tightest(Phase phase, FloatFormat format) {
      return rows(phase).stream()
          .filter(r -> r.output().nonFinite() == 0)
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

    /**
     * Writes the stats rows, then the anomaly events and chain, as one JSON Lines file
     * (atomically).
     */
    public void writeJsonl(Path file) {
      JsonLines.write(file, jsonLines);
    }
  }

  /**
   * Runs the prompt.
   *
   * @param tokens the prompt's ids (with BOS), at most the model's maxSeqLen; at least 2 for
   *     backward
   * @param threads GEMM threads (results do not depend on it)
   */
  public static Result run(
      LlamaModel model, int[] tokens, PrecisionPolicy policy, int threads, boolean backward) {
    return run(model, tokens, policy, threads, backward, null);
  }

  /**
   * {@link #run(LlamaModel, int[], PrecisionPolicy, int, boolean)}, naming tokens in the anomaly
   * events with {@code tokenText} (a token id to its text, e.g. a tokenizer's piece; null for ids
   * only).
   */
  public static Result run(
      LlamaModel model,
      int[] tokens,
      PrecisionPolicy policy,
      int threads,
      boolean backward,
      IntFunction<String> tokenText) {
    int t = tokens.length;
    if (t == 0) {
      throw new IllegalArgumentException(
          "the prompt encodes to no tokens: pass a non-empty prompt");
    }
    if (t > model.config().maxSeqLen()) {
      throw new IllegalArgumentException(
          "the prompt has "
              + t
              + " tokens, more than the model's "
              + model.config().maxSeqLen()
              + " positions: shorten it");
    }
    if (backward && t < 2) {
      throw new IllegalArgumentException(
          "--backward needs a prompt of at least 2 tokens (BOS + one): the loss predicts each next token");
    }
    TraceContext tc = new TraceContext().setLabel(policy.name());
    StatsTracer stats = new StatsTracer(tc);
    AnomalyTracer anomaly = AnomalyTracer.recording(tc).tokenText(tokenText);
    OpContext ctx =
        OpContext.DEFAULT.withThreads(threads).withTracer(CompositeTracer.of(stats, anomaly));
    Tape tape = new Tape();
    Map<String, Var> params = backward ? model.weightsAsParams(tape, name -> true) : Map.of();
    SequenceOutput out =
        model.forward(SequenceBatch.of(tokens), policy, ctx, tape, Hooks.none(), params);
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
    return new Result(
        policy,
        tokens,
        loss,
        backward,
        stats.rows(),
        anomaly.first(),
        anomaly.chain(),
        json,
        anomaly.events());
  }
}
