package io.nanscope.engine.trace;

/**
 * Where a run is, set by the caller (the edit loop, the optimiser loop) and stamped on every event
 * and stats row the tracers keep: the edit record, the step, a free label (precision, scenario).
 * One context is shared by the tracers of a run; {@link #snapshot()} freezes it for an event.
 *
 * <p>Thread-safe: setters publish a new immutable snapshot.
 */
public final class TraceContext {

  /**
   * A frozen context. {@code record} and {@code step} are -1 when unset; {@code label} is "" then.
   */
  public record Snapshot(int record, int step, String label) {
    public static final Snapshot NONE = new Snapshot(-1, -1, "");

    public Snapshot {
      label = label == null ? "" : label;
    }
  }

  private volatile Snapshot current = Snapshot.NONE;

  /** Sets the edit record (request index) the run is at; -1 for none. */
  public TraceContext setRecord(int record) {
    Snapshot s = current;
    current = new Snapshot(record, s.step(), s.label());
    return this;
  }

  /** Sets the optimisation step (or decode position) the run is at; -1 for none. */
  public TraceContext setStep(int step) {
    Snapshot s = current;
    current = new Snapshot(s.record(), step, s.label());
    return this;
  }

  /** Sets a free label (e.g. {@code "fp16 natural"}); null or "" for none. */
  public TraceContext setLabel(String label) {
    Snapshot s = current;
    current = new Snapshot(s.record(), s.step(), label);
    return this;
  }

  public Snapshot snapshot() {
    return current;
  }
}
