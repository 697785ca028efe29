package io.nanscope.engine.trace;

/**
 * Thrown by an anomaly-mode tracer at the first op whose output holds a NaN or infinity that its
 * inputs did not: carries the record so the caller can report site, op, phase and stats.
 */
public class NonFiniteException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final transient OpRecord record;

  public NonFiniteException(String message, OpRecord record) {
    super(message);
    this.record = record;
  }

  public OpRecord record() {
    return record;
  }
}
