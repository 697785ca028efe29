package io.nanscope.editing.repro;

import io.nanscope.editing.eval.EditMetrics;
import io.nanscope.engine.trace.AnomalyTracer;
import io.nanscope.engine.trace.SiteStats;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One precision's run of the pipeline.
 *
 * @param label {@code fp32}, {@code bf16}, {@code fp16} or {@code auto (fp16 -> fp32)}
 * @param policy the precision policy's name (the primary one for auto)
 * @param pre pre-edit metrics per record
 * @param preStoryNll the unedited model's NLL of the probe story (nats per token)
 * @param records per record, in order
 * @param anomaly the recording anomaly tracer of the whole run (first event, chain, JSON)
 * @param headroom per-site stats of the edits' forwards and backwards merged over steps, empty when
 *     not collected
 * @param nonFiniteWeights per weight tensor (HF name), NaN/inf entries at the end of the run: every
 *     tensor is checked, zero entries are kept
 * @param fallbacks the fallback log lines of an auto run ({@code falling back to fp32 at edit 3
 *     step 16: …})
 */
public record RunResult(
    String label,
    String policy,
    List<EditMetrics> pre,
    double preStoryNll,
    List<RecordOutcome> records,
    AnomalyTracer anomaly,
    List<SiteStats> headroom,
    Map<String, Long> nonFiniteWeights,
    List<String> fallbacks) {

  public RunResult {
    pre = List.copyOf(pre);
    records = List.copyOf(records);
    headroom = List.copyOf(headroom);
    nonFiniteWeights = Map.copyOf(nonFiniteWeights);
    fallbacks = List.copyOf(fallbacks);
  }

  /** The first non-finite value an edit produced, if any (EasyEdit goes on regardless). */
  public Optional<String> firstEditProblem() {
    return records.stream().flatMap(r -> r.editProblem().stream()).findFirst();
  }

  /**
   * Whether the model ended collapsed: its probe-story NLL is non-finite or more than {@link
   * #COLLAPSE_NATS} nats per token worse than the unedited model's (perplexity × e³ ≈ 20).
   */
  public boolean collapsed() {
    double post = records.getLast().storyNll();
    return Double.isNaN(post) || post > preStoryNll + COLLAPSE_NATS;
  }

  public static final double COLLAPSE_NATS = 3.0;

  /** The first record failure, if any. */
  public Optional<RecordOutcome.Failure> firstFailure() {
    return records.stream().flatMap(r -> r.failure().stream()).findFirst();
  }

  public boolean finished() {
    return firstFailure().isEmpty();
  }

  /** NaN/inf entries over every weight tensor at the end. */
  public long totalNonFiniteWeights() {
    return nonFiniteWeights.values().stream().mapToLong(Long::longValue).sum();
  }
}
