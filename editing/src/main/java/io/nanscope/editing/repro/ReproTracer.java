package io.nanscope.editing.repro;

import io.nanscope.engine.trace.AnomalyTracer;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TokenRows;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.engine.trace.Tracer;
import java.util.EnumSet;

/**
 * The tracer of one precision run: an {@link AnomalyTracer} in recording mode (so the run goes on
 * and the chain after the first non-finite value is kept) over every stage, and a {@link
 * StatsTracer} over the edit's forwards and backwards only (the headroom report). The model's
 * decode path reports its ops as forward ops; while the run is in the {@link Stage#GENERATION}
 * stage they are re-labelled {@link Phase#GENERATION}, so the report can tell the fluency
 * generation from a teacher-forced probe.
 */
public final class ReproTracer implements Tracer {

  /** What the pipeline is doing. */
  public enum Stage {
    PRE_EVALUATION("pre-edit evaluation"),
    EDIT("ROME edit (compute_u, compute_v, rank-one update)"),
    POST_EVALUATION("post-edit evaluation (teacher-forced probes)"),
    GENERATION("fluency generation (generate_fast, top-5 multinomial)");

    private final String text;

    Stage(String text) {
      this.text = text;
    }

    public String text() {
      return text;
    }
  }

  private final TraceContext context;
  private final AnomalyTracer anomaly;
  private final StatsTracer stats;
  private final String runLabel;
  private volatile Stage stage = Stage.PRE_EVALUATION;

  /**
   * @param runLabel the precision run's label, e.g. {@code fp16}
   * @param collectStats whether to keep per-site stats of the edit (costs one pass per op output)
   */
  public ReproTracer(TraceContext context, String runLabel, boolean collectStats) {
    this.context = context;
    this.runLabel = runLabel;
    this.anomaly = AnomalyTracer.recording(context);
    this.stats =
        collectStats ? new StatsTracer(context, EnumSet.of(Phase.FORWARD, Phase.BACKWARD)) : null;
  }

  /** Sets the stage; the trace context's label becomes {@code <run label> | <stage>}. */
  public void stage(Stage s) {
    stage = s;
    context.setLabel(runLabel + " | " + s.text());
  }

  public Stage stage() {
    return stage;
  }

  public TraceContext context() {
    return context;
  }

  public AnomalyTracer anomaly() {
    return anomaly;
  }

  /** The edit's per-site stats, or null when not collected. */
  public StatsTracer stats() {
    return stats;
  }

  @Override
  public boolean enabled() {
    return true;
  }

  /** The model's token rows go to the anomaly tracer, which names tokens in its reports. */
  @Override
  public void rows(TokenRows rows) {
    anomaly.rows(rows);
  }

  @Override
  public void record(OpRecord r) {
    Stage s = stage;
    OpRecord rec = r;
    if (s == Stage.GENERATION && r.phase() == Phase.FORWARD) {
      rec =
          new OpRecord(
              r.site(), r.op(), Phase.GENERATION, r.step(), r.inputs(), r.output(), r.unrounded());
    }
    anomaly.record(rec);
    if (stats != null && s == Stage.EDIT) {
      stats.record(rec);
    }
  }
}
