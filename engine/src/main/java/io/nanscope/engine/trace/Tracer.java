package io.nanscope.engine.trace;

/**
 * The inspection hook every op reports to. Passed in explicitly (never global); {@link #NONE} is
 * the default and costs one predictable branch: ops must check {@link #enabled()} before building
 * an {@link OpRecord} or keeping an unrounded copy.
 */
public interface Tracer {

  /** The tracer that records nothing. */
  Tracer NONE =
      new Tracer() {
        @Override
        public boolean enabled() {
          return false;
        }

        @Override
        public void record(OpRecord record) {}
      };

  /** Whether {@link #record} wants records; false means the op skips all tracing work. */
  boolean enabled();

  /**
   * Receives one op's record. An anomaly-mode tracer may throw {@link NonFiniteException} to stop
   * the run at the first op that produced a NaN/inf its inputs did not hold.
   */
  void record(OpRecord record);

  /**
   * The caller (the model) announces what the rows of the activations of the records that follow
   * are, so a report can name the token of an offending element. Called only while {@link
   * #enabled()}; the default ignores it.
   */
  default void rows(TokenRows rows) {}
}
