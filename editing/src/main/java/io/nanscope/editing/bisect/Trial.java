package io.nanscope.editing.bisect;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * One run of the bisection.
 *
 * @param number 1-based, in the order run
 * @param purpose why it ran ({@code FP32 reference}, {@code ddmin 4 parts}, {@code without
 *     layers.1.residual_mlp}, …)
 * @param sites the widened sites
 * @param problem the first non-finite value or crash, empty when finite
 * @param offTolerance the first metric further from the FP32 run's than the tolerance, empty when
 *     every metric is within it (or the run was not finite)
 * @param seconds wall time of the run
 */
public record Trial(
    int number,
    String purpose,
    List<String> sites,
    Optional<String> problem,
    Optional<String> offTolerance,
    double seconds) {

  public Trial {
    sites = List.copyOf(sites);
  }

  /** Finite, and every metric within tolerance of the FP32 run. */
  public boolean passes() {
    return problem.isEmpty() && offTolerance.isEmpty();
  }

  /** {@code pass}, {@code non-finite} or {@code off tolerance}. */
  public String outcome() {
    return problem.isPresent() ? "non-finite" : offTolerance.isPresent() ? "off tolerance" : "pass";
  }

  /** {@code #7 ddmin 2 parts 3 sites pass 8.1 s [layers.1.mlp.down_proj, …] (why, if not)}. */
  public String line() {
    String why = problem.or(() -> offTolerance).map(w -> "  (" + w + ")").orElse("");
    return String.format(
        Locale.ROOT,
        "#%-3d %-34s %3d site(s)  %-13s %6.1f s  %s%s",
        number,
        purpose,
        sites.size(),
        outcome(),
        seconds,
        abbreviate(sites),
        why);
  }

  /** The sites, the first 6 and a count of the rest. */
  static String abbreviate(List<String> sites) {
    if (sites.size() <= 6) {
      return sites.toString();
    }
    return sites.subList(0, 6).toString().replace("]", ", … " + (sites.size() - 6) + " more]");
  }
}
