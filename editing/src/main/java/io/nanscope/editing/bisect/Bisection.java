package io.nanscope.editing.bisect;

import io.nanscope.editing.keys.OptimiserStateSite;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.SiteStats;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Precision bisection: the smallest set of named sites that must run in a wider format for a run to
 * finish with every value finite and its metrics within a stated tolerance of the FP32 run.
 *
 * <ol>
 *   <li>The FP32 run (the reference metrics) and the original policy's run, traced: its per-site
 *       headroom and the sites where a non-finite value was born or carried.
 *   <li>The candidates: every site the original policy runs narrower than the wide format, ordered
 *       tightest first (born non-finite, then carried, then by headroom, then never traced).
 *   <li>All candidates widened must pass (else there is nothing to minimise and the search stops).
 *   <li>Seed: follow the first overflow — widen the candidate where the last run's first non-finite
 *       value was born and run again, until a run passes; if the failure stops being born at a new
 *       candidate (or a run is off tolerance), the shortest passing prefix of that order, by
 *       bisection over its length.
 *   <li>{@link Ddmin} on the seed, then the 1-minimality check: the set without each one of its
 *       sites must fail (read from the trial cache when ddmin already ran it).
 *   <li>Polygraphy's search on the same run, for comparison: the smallest N such that the sites of
 *       the first N layers (and the embedding) widened pass; N = L + 1 means every layer and the
 *       head.
 * </ol>
 *
 * Every trial is reported as it finishes; a set is never run twice.
 */
public final class Bisection {

  /**
   * How to judge a trial.
   *
   * @param widening the base policy and the wide format
   * @param lossTolerance how far (nats) each edit's final loss may be from the FP32 run's
   * @param accuracyTolerance how far each accuracy (0–1) may be from the FP32 run's
   */
  public record Settings(Widening widening, double lossTolerance, double accuracyTolerance) {
    public Settings {
      if (!(lossTolerance >= 0) || !(accuracyTolerance >= 0)) {
        throw new IllegalArgumentException(
            "tolerances must be >= 0, got " + lossTolerance + " and " + accuracyTolerance);
      }
    }
  }

  /**
   * A site the search may widen.
   *
   * @param rank 1-based position in the search order
   * @param why {@code non-finite born here}, {@code carried a non-finite value}, {@code headroom
   *     0.36 binades} or {@code not traced}
   * @param headroom binades below the storage format's largest finite value (−∞ when non-finite,
   *     NaN when not traced)
   */
  public record Candidate(String site, int rank, String why, double headroom) {}

  /**
   * Polygraphy's answer: the first {@code layers} layers in the wide format.
   *
   * @param layers the smallest passing N, {@code totalLayers + 1} for every layer and the head, or
   *     -1 when even that fails
   * @param sites how many sites those layers hold
   */
  public record Prefix(int layers, int totalLayers, int sites) {

    public String describe() {
      if (layers < 0) {
        return "none: even every layer and the head in the wide format fail";
      }
      if (layers > totalLayers) {
        return "every layer and the head (" + sites + " sites)";
      }
      return "the first " + layers + " of " + totalLayers + " layers (" + sites + " sites)";
    }
  }

  /**
   * The outcome.
   *
   * @param minimal the 1-minimal set (empty when the original policy already passes), absent when
   *     even every candidate widened fails
   * @param verdict one sentence saying what was found
   * @param minimality one trial per site of the minimal set: the set without it
   * @param oneMinimal whether every one of those failed
   */
  public record Result(
      String target,
      Widening widening,
      List<Candidate> candidates,
      List<Trial> trials,
      Optional<List<String>> minimal,
      String verdict,
      List<Trial> minimality,
      boolean oneMinimal,
      Prefix polygraphy,
      Observation original,
      double seconds) {

    public Result {
      candidates = List.copyOf(candidates);
      trials = List.copyOf(trials);
      minimal = minimal.map(List::copyOf);
      minimality = List.copyOf(minimality);
    }
  }

  private final Oracle oracle;
  private final Settings settings;
  private final Consumer<Trial> onTrial;
  private final List<Trial> trials = new ArrayList<>();
  private final Map<List<String>, Trial> cache = new HashMap<>();
  private final Map<List<String>, Observation> observed = new HashMap<>();
  private Observation reference;

  /**
   * @param onTrial sees each trial as it finishes (the command prints it)
   */
  public Bisection(Oracle oracle, Settings settings, Consumer<Trial> onTrial) {
    this.oracle = oracle;
    this.settings = settings;
    this.onTrial = onTrial == null ? t -> {} : onTrial;
  }

  /** Runs the whole search. */
  public Result search() {
    long t0 = System.nanoTime();
    Widening w = settings.widening();
    reference();
    Observation[] orig = new Observation[1];
    Trial original =
        timed("original policy, traced", List.of(), w.policy(w.base(), List.of()), true, orig);
    cache.put(List.of(), original);
    observed.put(List.of(), orig[0]);
    List<Candidate> candidates = candidates(orig[0]);
    List<String> order = candidates.stream().map(Candidate::site).toList();
    int totalLayers = oracle.sites().stream().mapToInt(SiteMap::layer).max().orElse(-1) + 1;
    if (original.passes()) {
      return result(
          candidates,
          Optional.of(List.of()),
          "the original policy already passes: nothing to widen",
          List.of(),
          true,
          new Prefix(0, totalLayers, 0),
          orig[0],
          t0);
    }
    if (order.isEmpty()) {
      return result(
          candidates,
          Optional.empty(),
          "no site runs narrower than " + w.wide() + " under " + w.base() + ": nothing to widen",
          List.of(),
          false,
          new Prefix(-1, totalLayers, 0),
          orig[0],
          t0);
    }
    Trial all = test("all candidates", order);
    if (!all.passes()) {
      return result(
          candidates,
          Optional.empty(),
          "even every candidate site in "
              + w.wide()
              + " fails ("
              + all.problem().or(all::offTolerance).orElse("")
              + "): no set of sites suffices",
          List.of(),
          false,
          new Prefix(-1, totalLayers, order.size()),
          orig[0],
          t0);
    }
    List<String> followed = followFirstOverflow(order, orig[0]);
    List<String> seed = followed;
    if (!test("seed", followed).passes()) {
      List<String> reordered = new ArrayList<>(followed);
      order.stream().filter(x -> !reordered.contains(x)).forEach(reordered::add);
      seed =
          Ddmin.shortestPassingPrefix(
              reordered, s -> test("seed: " + s.size() + " tightest", s).passes());
    }
    List<String> start = seed;
    List<String> minimal = Ddmin.minimise(start, s -> test("ddmin of " + start.size(), s).passes());
    List<Trial> checks = new ArrayList<>();
    for (String site : minimal) {
      List<String> without = new ArrayList<>(minimal);
      without.remove(site);
      checks.add(test("without " + site, without));
    }
    boolean oneMinimal = checks.stream().noneMatch(Trial::passes);
    Prefix poly = polygraphy(order, totalLayers);
    String verdict =
        String.format(
            Locale.ROOT,
            "%d of %d candidate sites in %s suffice%s; Polygraphy's layer prefix needs %s",
            minimal.size(),
            order.size(),
            w.wide(),
            oneMinimal
                ? " and none can be dropped (1-minimal)"
                : " (NOT 1-minimal: see the checks)",
            poly.describe());
    return result(candidates, Optional.of(minimal), verdict, checks, oneMinimal, poly, orig[0], t0);
  }

  /**
   * Runs the FP32 reference (once): the metrics every trial is compared with.
   *
   * @throws IllegalArgumentException when the FP32 run itself is not finite
   */
  public Observation reference() {
    if (reference == null) {
      Observation[] ref = new Observation[1];
      Trial fp32 = timed("FP32 reference", List.of(), PrecisionPolicy.named("fp32"), false, ref);
      if (fp32.problem().isPresent()) {
        throw new IllegalArgumentException(
            "the FP32 run itself is not finite ("
                + fp32.problem().get()
                + "): there is no reference to compare with");
      }
      reference = ref[0];
    }
    return reference;
  }

  /**
   * The seed: starting from nothing, widen the candidate where the last trial's first non-finite
   * value was born (the site whose headroom that run used up: −∞), and run again, until a trial
   * passes or the failure is no longer born at a candidate not yet widened (then the caller falls
   * back to the headroom order).
   */
  private List<String> followFirstOverflow(List<String> order, Observation original) {
    List<String> seed = new ArrayList<>();
    Observation seen = original;
    while (seed.size() < order.size()) {
      Optional<String> next =
          seen.bornNonFinite().stream()
              .filter(x -> order.contains(x) && !seed.contains(x))
              .findFirst();
      if (next.isEmpty()) {
        break;
      }
      seed.add(next.get());
      Trial t = test("seed: follow the first overflow", seed);
      if (t.passes()) {
        break;
      }
      seen = observed.get(key(seed));
    }
    return List.copyOf(seed);
  }

  /** A run of an explicit policy (the replay of the emitted file), reported like the others. */
  public Trial trial(String purpose, PrecisionPolicy policy, List<String> sites) {
    if (reference == null) {
      reference();
    }
    return timed(purpose, sites, policy, false, new Observation[1]);
  }

  /** Every trial so far, in order. */
  public List<Trial> trials() {
    return List.copyOf(trials);
  }

  private Result result(
      List<Candidate> candidates,
      Optional<List<String>> minimal,
      String verdict,
      List<Trial> checks,
      boolean oneMinimal,
      Prefix poly,
      Observation original,
      long t0) {
    return new Result(
        oracle.describe(),
        settings.widening(),
        candidates,
        trials,
        minimal,
        verdict,
        checks,
        oneMinimal,
        poly,
        original,
        (System.nanoTime() - t0) / 1e9);
  }

  private Prefix polygraphy(List<String> order, int totalLayers) {
    int lo = 0; // the original policy: fails
    int hi = totalLayers + 1; // every candidate: passes
    while (hi - lo > 1) {
      int mid = (lo + hi) >>> 1;
      if (test("polygraphy: first " + mid + " layer(s)", layerPrefix(order, mid, totalLayers))
          .passes()) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    return new Prefix(hi, totalLayers, layerPrefix(order, hi, totalLayers).size());
  }

  /**
   * The candidates in the first {@code n} of {@code layers} layers, with the embedding; n > layers:
   * every candidate (the head too).
   */
  static List<String> layerPrefix(List<String> order, int n, int layers) {
    List<String> out = new ArrayList<>();
    for (String s : order) {
      int l = SiteMap.layer(s);
      if (l >= 0 ? l < n : (n > 0 && s.equals("embed_tokens")) || n > layers) {
        out.add(s);
      }
    }
    return out;
  }

  /** The candidates in search order. */
  List<Candidate> candidates(Observation traced) {
    Widening w = settings.widening();
    PrecisionPolicy base = w.policy(w.base(), List.of());
    FloatFormat storage = base.storage();
    Map<String, Double> headroom = new LinkedHashMap<>();
    for (SiteStats s : traced.stats()) {
      double h =
          s.output().nonFinite() > 0 ? Double.NEGATIVE_INFINITY : s.output().headroomIn(storage);
      headroom.merge(OptimiserStateSite.policySite(s.at().site().name()), h, Math::min);
    }
    List<String> sites = oracle.sites();
    record Keyed(String site, int cls, double h, int index) {}
    List<Keyed> keyed = new ArrayList<>();
    for (int i = 0; i < sites.size(); i++) {
      String s = sites.get(i);
      if (!SiteMap.narrower(base, s, w.wide())) {
        continue;
      }
      int cls =
          traced.bornNonFinite().contains(s)
              ? 0
              : traced.carriedNonFinite().contains(s) ? 1 : headroom.containsKey(s) ? 2 : 3;
      double h = headroom.getOrDefault(s, Double.NaN);
      if (cls == 0) {
        h = traced.bornNonFinite().indexOf(s); // in order of birth
      } else if (cls == 1) {
        h = traced.carriedNonFinite().indexOf(s);
      }
      keyed.add(new Keyed(s, cls, h, i));
    }
    keyed.sort(
        Comparator.comparingInt(Keyed::cls)
            .thenComparingDouble(k -> Double.isNaN(k.h()) ? Double.POSITIVE_INFINITY : k.h())
            .thenComparingInt(Keyed::index));
    List<Candidate> out = new ArrayList<>();
    for (int r = 0; r < keyed.size(); r++) {
      Keyed k = keyed.get(r);
      double h = headroom.getOrDefault(k.site(), Double.NaN);
      String why =
          switch (k.cls()) {
            case 0 -> "non-finite born here";
            case 1 -> "carried a non-finite value";
            case 2 -> String.format(Locale.ROOT, "headroom %.2f binades", h);
            default -> "not traced";
          };
      out.add(new Candidate(k.site(), r + 1, why, k.cls() <= 1 ? Double.NEGATIVE_INFINITY : h));
    }
    return out;
  }

  /** The cached trial of a site set (in search order), running it when new. */
  private Trial test(String purpose, List<String> sites) {
    List<String> key = key(sites);
    Trial t = cache.get(key);
    if (t != null) {
      return t;
    }
    Widening w = settings.widening();
    String name = "bisect-trial-" + (trials.size() + 1);
    Observation[] seen = new Observation[1];
    t = timed(purpose, sites, w.policy(name, sites), false, seen);
    cache.put(key, t);
    observed.put(key, seen[0]);
    return t;
  }

  private static List<String> key(List<String> sites) {
    return List.copyOf(new TreeSet<>(sites));
  }

  private Trial timed(
      String purpose,
      List<String> sites,
      PrecisionPolicy policy,
      boolean traced,
      Observation[] seen) {
    long t0 = System.nanoTime();
    Observation o = oracle.run(policy, traced);
    double seconds = (System.nanoTime() - t0) / 1e9;
    seen[0] = o;
    Optional<String> off = o.finite() ? offTolerance(o) : Optional.empty();
    Trial t = new Trial(trials.size() + 1, purpose, sites, o.problem(), off, seconds);
    trials.add(t);
    onTrial.accept(t);
    return t;
  }

  /** The first metric further from the FP32 run's than its tolerance. */
  private Optional<String> offTolerance(Observation o) {
    if (reference == null) {
      return Optional.empty();
    }
    for (Map.Entry<String, Double> e : reference.metrics().entrySet()) {
      double ref = e.getValue();
      double got = o.metrics().getOrDefault(e.getKey(), Double.NaN);
      double tol =
          e.getKey().startsWith("final loss")
              ? settings.lossTolerance()
              : settings.accuracyTolerance();
      if (Double.isNaN(ref)) {
        continue;
      }
      if (!(Math.abs(got - ref) <= tol)) {
        return Optional.of(
            String.format(
                Locale.ROOT, "%s %.4g vs FP32 %.4g, tolerance %.3g", e.getKey(), got, ref, tol));
      }
    }
    return Optional.empty();
  }
}
