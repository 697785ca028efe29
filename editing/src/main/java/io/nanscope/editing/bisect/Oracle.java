package io.nanscope.editing.bisect;

import io.nanscope.engine.op.PrecisionPolicy;
import java.util.List;

/** The run being bisected: the same edits, data and seed every time, only the policy changes. */
public interface Oracle {

  /** One line naming the run: scenario, records, what is shared between trials. */
  String describe();

  /** The sites a policy can name in this run's model, in execution order ({@link SiteMap}). */
  List<String> sites();

  /**
   * Runs the target once under {@code policy}; with {@code traced}, also keeps the per-site stats
   * (slower).
   */
  Observation run(PrecisionPolicy policy, boolean traced);
}
