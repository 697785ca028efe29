package io.nanscope.editing.session;

import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.op.PrecisionPolicy;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The transactional precision fallback around any {@link Editor}: every optimisation step's loss
 * and state are checked (a non-finite gradient shows in the state after Adam's step), then the
 * update itself (the algorithm's own {@link WeightUpdate#problem}, else a count of non-finite new
 * weights). With a fallback policy, the first non-finite value stops the attempt — nothing was
 * written, {@link Editor#compute} never writes — and the whole edit is redone in the fallback
 * policy; an update still non-finite there is refused (the session leaves the weights as they
 * were). Without a fallback the checks only report: the update is written as it is, as EasyEdit
 * does.
 *
 * <p>Lines it logs: {@code falling back to fp32 at edit 0 step 3: loss nan (…)} and {@code refused
 * the update of edit 1 (…): the weights are unchanged}; {@code switches} receives the same lines.
 */
public final class PrecisionFallback implements Editor {

  private final Editor inner;
  private final Optional<PrecisionPolicy> fallback;
  private final Consumer<String> switches;

  /**
   * @param fallback the policy to redo a failed edit in; empty to check and report only
   * @param switches receives every fallback and refusal line (also logged)
   */
  public PrecisionFallback(
      Editor inner, Optional<PrecisionPolicy> fallback, Consumer<String> switches) {
    this.inner = inner;
    this.fallback = fallback;
    this.switches = switches;
  }

  @Override
  public String algorithm() {
    return inner.algorithm();
  }

  @Override
  public void written(WeightUpdate update, io.nanscope.editing.keys.EditLog log) {
    inner.written(update, log);
  }

  @Override
  public WeightUpdate compute(List<EditRequest> batch, EditContext ctx) {
    WeightUpdate u = attempt(batch, ctx, fallback.isPresent());
    if (u.problem().isEmpty() || fallback.isEmpty()) {
      return u;
    }
    PrecisionPolicy fb = fallback.get();
    WeightUpdate.Problem p = u.problem().get();
    String line =
        "falling back to "
            + shortName(fb.name())
            + " at edit "
            + ctx.edit()
            + (p.step() >= 0 ? " step " + p.step() : "")
            + ": "
            + p.what();
    ctx.log().line(line);
    switches.accept(line);
    u = attempt(batch, ctx.withPolicy(fb), true);
    if (u.problem().isEmpty()) {
      return u;
    }
    String refused =
        "refused the update of edit "
            + ctx.edit()
            + " ("
            + u.problem().get().what()
            + "): the weights are unchanged";
    ctx.log().line(refused);
    switches.accept(refused);
    return u.refuse();
  }

  /** One computed (not written) edit with the first non-finite thing found in it. */
  private WeightUpdate attempt(
      List<EditRequest> batch, EditContext ctx, boolean stopAtFirstBadStep) {
    StepCheck check = new StepCheck(ctx.steps(), stopAtFirstBadStep);
    WeightUpdate u = inner.compute(batch, ctx.withSteps(check));
    if (check.bad != null) {
      return u.withProblem(Optional.of(check.bad));
    }
    if (u.problem().isPresent()) {
      return u;
    }
    for (WeightUpdate.Change c : u.changes()) {
      long n = WeightUpdate.nonFinite(c.value());
      if (n > 0) {
        return u.withProblem(
            Optional.of(
                new WeightUpdate.Problem(
                    -1, "update: " + n + " non-finite entries in the new " + c.weightName())));
      }
    }
    return u;
  }

  /** {@code pytorch-fp16} → {@code fp16}. */
  public static String shortName(String policy) {
    return policy.startsWith("pytorch-") ? policy.substring("pytorch-".length()) : policy;
  }

  /** Checks each step's loss and state after the listener it wraps has seen it. */
  private static final class StepCheck implements TargetValue.StepListener {
    private final TargetValue.StepListener next;
    private final boolean stop;
    WeightUpdate.Problem bad;

    StepCheck(TargetValue.StepListener next, boolean stop) {
      this.next = next;
      this.stop = stop;
    }

    @Override
    public boolean onStep(TargetValue.Step step, float[] state) {
      boolean go = next.onStep(step, state);
      if (bad == null) {
        if (!step.finite()) {
          bad =
              new WeightUpdate.Problem(
                  step.iteration(),
                  "loss " + step.loss() + " (nll " + step.nll() + ", kl " + step.kl() + ")");
        } else {
          int n = countNonFinite(state);
          if (n > 0) {
            bad =
                new WeightUpdate.Problem(
                    step.iteration(),
                    n + " non-finite entries in delta (from the gradient or Adam's update)");
          }
        }
      }
      return go && !(stop && bad != null);
    }
  }

  static int countNonFinite(float[] x) {
    int n = 0;
    for (float f : x) {
      if (!Float.isFinite(f)) {
        n++;
      }
    }
    return n;
  }
}
