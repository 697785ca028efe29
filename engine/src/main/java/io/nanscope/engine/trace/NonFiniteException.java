package io.nanscope.engine.trace;

import java.util.Optional;

/**
 * Thrown by an anomaly-mode tracer at the first op whose output holds a NaN or infinity that its
 * inputs did not: carries the record so the caller can report site, op, phase and stats, and (when
 * thrown by {@link AnomalyTracer}) the {@link FirstNonFinite} event with stats and offending
 * values.
 */
public class NonFiniteException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final transient OpRecord record;
  private final transient FirstNonFinite event;

  public NonFiniteException(String message, OpRecord record) {
    this(message, record, null);
  }

  /**
   * With the analysed event (stats, offending values, limit crossed); {@code event} may be null.
   */
  public NonFiniteException(String message, OpRecord record, FirstNonFinite event) {
    super(message);
    this.record = record;
    this.event = event;
  }

  public OpRecord record() {
    return record;
  }

  /** The analysed event, when the thrower built one. */
  public Optional<FirstNonFinite> event() {
    return Optional.ofNullable(event);
  }
}
