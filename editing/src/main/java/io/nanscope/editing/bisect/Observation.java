package io.nanscope.editing.bisect;

import io.nanscope.engine.trace.SiteStats;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one run of the bisected target showed.
 *
 * @param problem the first non-finite value (a traced op output, an update entry, a written weight)
 *     or the crash the run met, empty when every value stayed finite
 * @param metrics the edit's metrics by name (final loss, rewrite accuracy, locality…), compared
 *     with the FP32 run's; NaN when not computed
 * @param stats per-site stats of a traced run (the headroom the candidates are ordered by), else
 *     empty
 * @param bornNonFinite sites where a non-finite value was born from finite inputs, in order
 * @param carriedNonFinite sites that only passed a non-finite value on, in order of first
 *     appearance
 */
public record Observation(
    Optional<String> problem,
    Map<String, Double> metrics,
    List<SiteStats> stats,
    List<String> bornNonFinite,
    List<String> carriedNonFinite) {

  public Observation {
    metrics = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    stats = List.copyOf(stats);
    bornNonFinite = List.copyOf(bornNonFinite);
    carriedNonFinite = List.copyOf(carriedNonFinite);
  }

  public boolean finite() {
    return problem.isEmpty();
  }
}
