package io.nanscope.engine.trace;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.FormatInfo;
import io.nanscope.engine.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * Finds where non-finite values are born: the first op whose output holds a NaN or an infinity that
 * its inputs did not (see {@link FirstNonFinite} for the per-kind rule), in any phase.
 *
 * <p>Better than PyTorch's {@code detect_anomaly}, which checks backward outputs only and for NaN
 * only: this checks every op the tracer sees (forward, backward, optimiser, rank-one update,
 * generation) for NaN and ±inf, and reports the stats and bit patterns of what crossed the limit.
 *
 * <p>{@link Mode#STOP_AT_FIRST} throws {@link NonFiniteException} (carrying the event) at the first
 * event. {@link Mode#RECORD_ALL} never throws: it records every event and the chain of ops with
 * non-finite outputs from the first event on (capped at {@code maxChain} links; the rest are
 * counted). Cost while everything is finite: one pass over each output.
 */
public final class AnomalyTracer implements Tracer {

  /** Whether to stop the run at the first event. */
  public enum Mode {
    STOP_AT_FIRST,
    RECORD_ALL
  }

  /** Offending values kept per event by default. */
  public static final int DEFAULT_MAX_OFFENDING = 8;

  /** Offending elements traced back to their operands per event ({@link ElementTrace}). */
  public static final int DEFAULT_MAX_TRACED = 3;

  /** Chain links kept by default. */
  public static final int DEFAULT_MAX_CHAIN = 10_000;

  private final Mode mode;
  private final TraceContext context;
  private final int maxOffending;
  private final int maxChain;
  private final List<FirstNonFinite> events = new ArrayList<>();
  private final List<ChainLink> chain = new ArrayList<>();
  private long opsSeen;
  private long chainDropped;
  private TokenRows rows;
  private IntFunction<String> tokenText;

  public AnomalyTracer(Mode mode, TraceContext context, int maxOffending, int maxChain) {
    if (maxOffending < 0 || maxChain < 0) {
      throw new IllegalArgumentException(
          "maxOffending and maxChain must be >= 0, got " + maxOffending + " and " + maxChain);
    }
    this.mode = mode;
    this.context = context;
    this.maxOffending = maxOffending;
    this.maxChain = maxChain;
  }

  /** Throws at the first event, keeping {@value #DEFAULT_MAX_OFFENDING} offending values. */
  public static AnomalyTracer stopping(TraceContext context) {
    return new AnomalyTracer(Mode.STOP_AT_FIRST, context, DEFAULT_MAX_OFFENDING, DEFAULT_MAX_CHAIN);
  }

  /** Never throws; records every event and the chain after the first. */
  public static AnomalyTracer recording(TraceContext context) {
    return new AnomalyTracer(Mode.RECORD_ALL, context, DEFAULT_MAX_OFFENDING, DEFAULT_MAX_CHAIN);
  }

  @Override
  public boolean enabled() {
    return true;
  }

  /**
   * Names tokens in the reports: {@code text} turns a token id into its text (e.g. a tokenizer's
   * piece). Without it, elements carry the token id only.
   */
  public synchronized AnomalyTracer tokenText(IntFunction<String> text) {
    this.tokenText = text;
    return this;
  }

  @Override
  public synchronized void rows(TokenRows rows) {
    this.rows = rows;
  }

  @Override
  public synchronized void record(OpRecord r) {
    long index = opsSeen++;
    long[] out = nanAndInf(r.output());
    if (out[0] == 0 && out[1] == 0) {
      return;
    }
    boolean inNan = false;
    boolean inInf = false;
    for (Tensor in : r.inputs()) {
      if (in == null) {
        continue; // an optional input the op did not have
      }
      long[] c = nanAndInf(in);
      inNan |= c[0] > 0;
      inInf |= c[1] > 0;
    }
    boolean newNan = out[0] > 0 && !inNan;
    boolean newInf = out[1] > 0 && !inNan && !inInf;
    boolean origin = newNan || newInf;
    if (!origin && events.isEmpty()) {
      return; // non-finite values that came in from outside the traced ops: not born here
    }
    OpLocation at = OpLocation.of(index, context.snapshot(), r);
    if (chain.size() < maxChain) {
      chain.add(new ChainLink(at, out[0], out[1], origin));
    } else {
      chainDropped++;
    }
    if (!origin) {
      return;
    }
    FirstNonFinite e = analyse(at, r, newNan, newInf, !inNan && !inInf);
    events.add(e);
    if (mode == Mode.STOP_AT_FIRST) {
      throw new NonFiniteException(e.summary(), r, e);
    }
  }

  /** The first event of the run, if any. */
  public synchronized Optional<FirstNonFinite> first() {
    return events.isEmpty() ? Optional.empty() : Optional.of(events.getFirst());
  }

  /**
   * The first event that created NaN (the first NaN of the run: after an overflow, typically the
   * propagator that turned inf into NaN), if any.
   */
  public synchronized Optional<FirstNonFinite> firstNewNan() {
    return events.stream().filter(FirstNonFinite::newNan).findFirst();
  }

  /** Every event, in execution order. */
  public synchronized List<FirstNonFinite> events() {
    return List.copyOf(events);
  }

  /** The ops with non-finite outputs from the first event on, in execution order. */
  public synchronized List<ChainLink> chain() {
    return List.copyOf(chain);
  }

  /** Chain links not kept because {@code maxChain} was reached. */
  public synchronized long chainDropped() {
    return chainDropped;
  }

  /** Number of records seen. */
  public synchronized long opsSeen() {
    return opsSeen;
  }

  /** Events then chain links as JSON Lines objects. */
  public synchronized List<Json> toJson() {
    List<Json> lines = new ArrayList<>();
    events.forEach(e -> lines.add(e.toJson()));
    chain.forEach(c -> lines.add(c.toJson()));
    return lines;
  }

  /** Writes {@link #toJson()} to a JSON Lines file (atomically). */
  public void writeJsonl(Path file) {
    JsonLines.write(file, toJson());
  }

  private FirstNonFinite analyse(
      OpLocation at, OpRecord r, boolean newNan, boolean newInf, boolean inputsFinite) {
    List<TensorStats> inputs = new ArrayList<>(r.inputs().size());
    for (Tensor in : r.inputs()) {
      if (in != null) {
        inputs.add(TensorStats.of(in));
      }
    }
    Tensor out = r.output();
    Tensor unrounded = r.unrounded();
    TensorStats outStats = TensorStats.of(out, unrounded);
    List<OffendingValue> offending = new ArrayList<>();
    List<ElementTrace> elements = new ArrayList<>();
    double crossed = Double.NaN; // largest finite |unrounded| among outputs that became non-finite
    boolean unroundedInf = false;
    long n = out.size();
    for (long i = 0; i < n; i++) {
      double x = out.getDouble(i);
      boolean isNew = (Double.isNaN(x) && newNan) || (Double.isInfinite(x) && newInf);
      if (!isNew) {
        continue;
      }
      double u = unrounded == null ? Double.NaN : unrounded.getDouble(i);
      if (Double.isFinite(u)) { // finite before rounding: it overflowed (E4M3FN gives NaN)
        crossed = Double.isNaN(crossed) ? Math.abs(u) : Math.max(crossed, Math.abs(u));
      }
      unroundedInf |= Double.isInfinite(u);
      if (offending.size() < maxOffending) {
        offending.add(
            new OffendingValue(
                i, Operands.coordinates(out.shape(), i), x, BitPattern.of(out, i), u));
      }
      if (elements.size() < Math.min(maxOffending, DEFAULT_MAX_TRACED)) {
        elements.add(Operands.trace(r, i, rows, tokenText));
      }
    }
    String limit =
        limitCrossed(out, unrounded != null, newInf, inputsFinite, crossed, unroundedInf);
    return new FirstNonFinite(
        at, inputs, outStats, newNan, newInf, inputsFinite, offending, limit, elements);
  }

  private static String limitCrossed(
      Tensor out,
      boolean hasUnrounded,
      boolean newInf,
      boolean inputsFinite,
      double crossed,
      boolean unroundedInf) {
    FloatFormat f = out.format();
    FormatInfo info = f.info();
    String max = "maxFinite " + Numbers.human(info.maxFinite()) + " of " + f.name();
    if (!Double.isNaN(crossed)) {
      String s = "|x| = " + Numbers.human(crossed) + " > " + max;
      if (info.bits() < 64) {
        s +=
            " (values "
                + (TensorStats.thresholdOverflows(f) ? ">= " : "> ")
                + Numbers.human(TensorStats.overflowThreshold(f))
                + (info.hasInfinity() ? " round to inf)" : " round to NaN: no infinity)");
      }
      return s;
    }
    if (newInf && unroundedInf) {
      return "the FP32 value before rounding was already inf: |x| > maxFinite "
          + Numbers.human(Float.MAX_VALUE)
          + " of fp32, or a division by zero";
    }
    if (newInf) {
      return "|x| > "
          + max
          + (hasUnrounded || info.bits() >= 32
              ? " (or a division by zero)"
              : "; the op kept no unrounded output to say by how much");
    }
    return inputsFinite
        ? "NaN from finite inputs: an invalid operation inside the op (inf - inf, 0 * inf, 0 / 0)"
        : "NaN from inputs holding inf (inf - inf, 0 * inf, inf / inf)";
  }

  /** {NaN count, ±inf count}. */
  private static long[] nanAndInf(Tensor t) {
    long nan = 0;
    long inf = 0;
    long n = t.size();
    for (long i = 0; i < n; i++) {
      double x = t.getDouble(i);
      if (Double.isNaN(x)) {
        nan++;
      } else if (Double.isInfinite(x)) {
        inf++;
      }
    }
    return new long[] {nan, inf};
  }
}
