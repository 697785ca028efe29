package io.nanscope.editing.session;

import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.function.Consumer;

/**
 * What one {@link Editor#compute} call runs under.
 *
 * @param edit index of this edit in its session (0 for the first); in log lines and fallback lines
 * @param policy the precision policy of every forward and backward of the edit
 * @param ops threads and tracer
 * @param log receives the algorithm's EasyEdit-format log lines
 * @param steps sees each optimisation step with its state (δ for ROME's v*); returning false stops
 *     the optimisation (the precision fallback stops at the first non-finite step)
 * @param divisionFactorOverride a LABELLED intervention for algorithms with a kᵀu division (ROME):
 *     use this value instead of the computed one; empty for the faithful algorithm. An algorithm
 *     without such a division refuses a present value.
 * @param dynamicLossScale GradScaler-style dynamic loss scaling of the algorithm's backward (a
 *     labelled option, not in EasyEdit)
 * @param stages told the name of each stage of the algorithm as it enters it (ROME: {@code
 *     compute_u}, {@code compute_v}, {@code key at the bare prompt}); tracers label what follows
 */
public record EditContext(
    int edit,
    PrecisionPolicy policy,
    OpContext ops,
    EditLog log,
    TargetValue.StepListener steps,
    OptionalDouble divisionFactorOverride,
    boolean dynamicLossScale,
    Consumer<String> stages) {

  public EditContext {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(ops, "ops");
    Objects.requireNonNull(log, "log");
    Objects.requireNonNull(steps, "steps");
    Objects.requireNonNull(divisionFactorOverride, "divisionFactorOverride");
    Objects.requireNonNull(stages, "stages");
  }

  /**
   * The faithful algorithm in {@code policy}: no override, no loss scaling, every step accepted.
   */
  public static EditContext of(PrecisionPolicy policy, OpContext ops, EditLog log) {
    return new EditContext(
        0,
        policy,
        ops,
        log,
        TargetValue.StepListener.ALWAYS,
        OptionalDouble.empty(),
        false,
        stage -> {});
  }

  public EditContext withEdit(int index) {
    return new EditContext(
        index, policy, ops, log, steps, divisionFactorOverride, dynamicLossScale, stages);
  }

  public EditContext withPolicy(PrecisionPolicy p) {
    return new EditContext(
        edit, p, ops, log, steps, divisionFactorOverride, dynamicLossScale, stages);
  }

  public EditContext withSteps(TargetValue.StepListener l) {
    return new EditContext(
        edit, policy, ops, log, l, divisionFactorOverride, dynamicLossScale, stages);
  }

  public EditContext withDivisionFactor(OptionalDouble value) {
    return new EditContext(edit, policy, ops, log, steps, value, dynamicLossScale, stages);
  }

  public EditContext withStages(Consumer<String> s) {
    return new EditContext(
        edit, policy, ops, log, steps, divisionFactorOverride, dynamicLossScale, s);
  }

  public EditContext withDynamicLossScale(boolean on) {
    return new EditContext(edit, policy, ops, log, steps, divisionFactorOverride, on, stages);
  }
}
