package io.nanscope.engine.trace;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Records the stats of every op output it sees (one {@link SiteStats} row per record), for the
 * per-site headroom table: layer, site, max|x|, headroom in FP16/BF16, overflow / underflow /
 * subnormal counts. Phases can be filtered (e.g. forward and backward only). Cost: one pass over
 * each output (and its unrounded copy) per record, unless the op counted it in its own loop ({@link
 * OpRecord#stats()}).
 */
public final class StatsTracer implements Tracer {

  private final TraceContext context;
  private final Set<Phase> phases;
  private final List<SiteStats> rows = new ArrayList<>();
  private long opsSeen;

  /** Records every phase. */
  public StatsTracer(TraceContext context) {
    this(context, Set.of(Phase.values()));
  }

  /** Records only the given phases. */
  public StatsTracer(TraceContext context, Set<Phase> phases) {
    if (phases.isEmpty()) {
      throw new IllegalArgumentException("a StatsTracer needs at least one phase to record");
    }
    this.context = context;
    this.phases = Set.copyOf(phases);
  }

  @Override
  public boolean enabled() {
    return true;
  }

  @Override
  public synchronized void record(OpRecord r) {
    long index = opsSeen++;
    if (!phases.contains(r.phase())) {
      return;
    }
    rows.add(new SiteStats(OpLocation.of(index, context.snapshot(), r), 1, r.statsOf()));
  }

  /** Every row, in execution order. */
  public synchronized List<SiteStats> rows() {
    return List.copyOf(rows);
  }

  /**
   * One row per (phase, site, op, output format), in order of first appearance, merging the records
   * of every step: max|x| is the maximum over steps, counts are summed.
   */
  public synchronized List<SiteStats> bySite() {
    Map<String, SiteStats> merged = new LinkedHashMap<>();
    for (SiteStats s : rows) {
      OpLocation at = s.at();
      String key =
          at.phase()
              + "\u0000"
              + at.site().name()
              + "\u0000"
              + at.op()
              + "\u0000"
              + s.output().format().name();
      merged.merge(key, s, SiteStats::merge);
    }
    return List.copyOf(merged.values());
  }

  /** Forgets every row (e.g. between edits). */
  public synchronized void clear() {
    rows.clear();
  }

  /** Writes every row as a JSON Lines file (atomically). */
  public void writeJsonl(Path file) {
    JsonLines.write(file, rows().stream().map(SiteStats::toJson).toList());
  }
}
