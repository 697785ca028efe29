package io.nanscope.engine.trace;

/** Where in a run an op executed, for the first-overflow report. */
public enum Phase {
  FORWARD,
  BACKWARD,
  OPTIMIZER,
  RANK_ONE_UPDATE,
  GENERATION
}
