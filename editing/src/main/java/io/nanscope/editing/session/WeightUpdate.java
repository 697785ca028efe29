package io.nanscope.editing.session;

import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The result of {@link Editor#compute}: the new value of every weight the edit changes, not yet
 * written into the model, and what the algorithm found wrong with it.
 *
 * @param algorithm EasyEdit's {@code alg_name}
 * @param batch the requests this update edits
 * @param policy the precision policy it was computed in (the fallback's when it fell back)
 * @param changes the new weights, in the order the algorithm computed them
 * @param problem the first non-finite value the algorithm (or the {@link PrecisionFallback} around
 *     it) found: a loss or state at an optimisation step, or a value of the update; empty when
 *     clean
 * @param refused whether the session must NOT write this update (the fallback refuses an update
 *     that is still non-finite in the fallback precision)
 * @param detail the algorithm's own record of the edit (ROME: its {@code Rome.Outcome}), for
 *     reports
 */
public record WeightUpdate(
    String algorithm,
    List<EditRequest> batch,
    PrecisionPolicy policy,
    List<Change> changes,
    Optional<Problem> problem,
    boolean refused,
    Object detail) {

  public WeightUpdate {
    Objects.requireNonNull(algorithm, "algorithm");
    batch = List.copyOf(batch);
    Objects.requireNonNull(policy, "policy");
    changes = List.copyOf(changes);
    Objects.requireNonNull(problem, "problem");
  }

  /**
   * One weight's new value.
   *
   * @param weightName the Hugging Face name, e.g. {@code model.layers.1.mlp.down_proj.weight}
   * @param layer the decoder layer it belongs to
   * @param value the whole new tensor, in the model's shape and storage format
   */
  public record Change(String weightName, int layer, Tensor value) {
    public Change {
      Objects.requireNonNull(weightName, "weightName");
      Objects.requireNonNull(value, "value");
    }
  }

  /**
   * A non-finite value found in the edit.
   *
   * @param step the optimisation step it appeared at, or -1 when it is in the update itself
   * @param what e.g. {@code loss NaN (nll …)} or {@code rank-one update: 3 non-finite entries in r}
   */
  public record Problem(int step, String what) {}

  /** A clean, writable update. */
  /** EasyEdit's log line after the weights are written: the changed weights' names, in order. */
  public String insertedLine() {
    return "New weights successfully inserted into "
        + changes.stream().map(c -> "'" + c.weightName() + "'").toList();
  }

  public static WeightUpdate of(
      String algorithm,
      List<EditRequest> batch,
      PrecisionPolicy policy,
      List<Change> changes,
      Optional<Problem> problem,
      Object detail) {
    return new WeightUpdate(algorithm, batch, policy, changes, problem, false, detail);
  }

  public WeightUpdate withProblem(Optional<Problem> p) {
    return new WeightUpdate(algorithm, batch, policy, changes, p, refused, detail);
  }

  /** This update, marked so that the session does not write it. */
  public WeightUpdate refuse() {
    return new WeightUpdate(algorithm, batch, policy, changes, problem, true, detail);
  }

  /** The algorithm's detail record as {@code type} (e.g. {@code Rome.Outcome.class}). */
  public <T> T detail(Class<T> type) {
    if (!type.isInstance(detail)) {
      throw new IllegalStateException(
          "this "
              + algorithm
              + " update carries "
              + (detail == null ? "no detail" : detail.getClass().getSimpleName())
              + ", not "
              + type.getSimpleName());
    }
    return type.cast(detail);
  }

  /** NaN and infinite entries over every changed weight. */
  public long nonFiniteValues() {
    long n = 0;
    for (Change c : changes) {
      n += nonFinite(c.value());
    }
    return n;
  }

  static long nonFinite(Tensor t) {
    long n = 0;
    for (long i = 0; i < t.size(); i++) {
      if (!Double.isFinite(t.getDouble(i))) {
        n++;
      }
    }
    return n;
  }
}
