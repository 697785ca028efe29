package io.nanscope.engine.trace;

import java.util.ArrayList;
import java.util.List;

/**
 * Sends each record to several tracers, in order. Every enabled tracer sees the record even if an
 * earlier one throws {@link NonFiniteException} (so a stats table includes the op that stopped the
 * run); the first such exception is rethrown after all have seen it. Enabled while any part is.
 */
public final class CompositeTracer implements Tracer {

  private final List<Tracer> parts;

  private CompositeTracer(List<Tracer> parts) {
    this.parts = List.copyOf(parts);
  }

  /**
   * A tracer forwarding to the {@code parts} enabled now; {@link Tracer#NONE} when none is, the
   * part itself when only one is.
   */
  public static Tracer of(Tracer... parts) {
    List<Tracer> enabledParts = new ArrayList<>();
    for (Tracer t : parts) {
      if (t.enabled()) {
        enabledParts.add(t);
      }
    }
    if (enabledParts.isEmpty()) {
      return Tracer.NONE;
    }
    return enabledParts.size() == 1 ? enabledParts.getFirst() : new CompositeTracer(enabledParts);
  }

  public List<Tracer> parts() {
    return parts;
  }

  @Override
  public boolean enabled() {
    for (Tracer t : parts) {
      if (t.enabled()) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void rows(TokenRows rows) {
    for (Tracer t : parts) {
      if (t.enabled()) {
        t.rows(rows);
      }
    }
  }

  @Override
  public void record(OpRecord record) {
    NonFiniteException stop = null;
    for (Tracer t : parts) {
      if (!t.enabled()) {
        continue;
      }
      try {
        t.record(record);
      } catch (NonFiniteException e) {
        if (stop == null) {
          stop = e;
        }
      }
    }
    if (stop != null) {
      throw stop;
    }
  }
}
