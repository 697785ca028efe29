package io.nanscope.editing.repro;

import io.nanscope.editing.eval.EditMetrics;
import io.nanscope.editing.keys.TargetValue;
import java.util.List;
import java.util.Optional;

/**
 * What happened to one edit record in one precision run.
 *
 * @param index the record's index in the data set
 * @param steps compute_v's optimisation steps (of the attempt that was kept)
 * @param divisionFactor kᵀu as used (the override when there is one); @param computedDivisionFactor
 *     as computed
 * @param nonFiniteUpdate NaN/inf entries in the computed new W_down
 * @param written whether the update went into the weights (auto refuses non-finite updates)
 * @param editPolicy the policy of the kept edit (the fallback's when it fell back)
 * @param editProblem the first non-finite value the edit itself produced (loss, δ, r, kᵀu or new
 *     weights), if any — EasyEdit checks none of them and goes on
 * @param post post-edit metrics, empty when the evaluation failed
 * @param storyNll mean NLL (nats per token) of {@link ReproPipeline#PROBE_STORY} under the edited
 *     model (a health check: a collapsed model scores far worse than the unedited one), NaN when
 *     non-finite; in auto mode, in the fallback precision when the FP16 forward of the story is not
 *     finite
 * @param failure where the run crashed as EasyEdit would (the multinomial error), if it did
 */
public record RecordOutcome(
    int index,
    String subject,
    String targetNew,
    List<TargetValue.Step> steps,
    double divisionFactor,
    double computedDivisionFactor,
    boolean overridden,
    long nonFiniteUpdate,
    boolean written,
    String editPolicy,
    Optional<String> editProblem,
    Optional<EditMetrics> post,
    double storyNll,
    Optional<Failure> failure) {

  public RecordOutcome {
    steps = List.copyOf(steps);
  }

  /** The last step's loss line values, or NaN when the edit had no step. */
  public double finalLoss() {
    return steps.isEmpty() ? Double.NaN : steps.getLast().loss();
  }

  /** The first step whose loss is not finite, or -1. */
  public int firstNonFiniteStep() {
    for (TargetValue.Step s : steps) {
      if (!s.finite()) {
        return s.iteration();
      }
    }
    return -1;
  }

  /**
   * Where a record failed.
   *
   * @param stage the pipeline stage
   * @param step the optimisation step, or -1
   * @param message what went wrong (the multinomial error's text, or the non-finite value found)
   */
  public record Failure(int record, ReproTracer.Stage stage, int step, String message) {

    public String describe() {
      return "record "
          + record
          + ", "
          + stage.text()
          + (step >= 0 ? ", step " + step : "")
          + ": "
          + message;
    }
  }
}
