package io.nanscope.editing.repro;

import io.nanscope.editing.eval.EditMetrics;
import io.nanscope.editing.eval.EditSummary;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.trace.ChainLink;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.Json;
import io.nanscope.engine.trace.JsonLines;
import io.nanscope.engine.trace.Numbers;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.engine.trace.StatsTable;
import io.nanscope.engine.trace.TensorStats;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The texts {@code repro} prints: the comparison table of the precision runs, the headroom report
 * of an edit, the first-overflow report (text and JSON). Pure functions of the results, so the same
 * run prints the same text.
 */
public final class ReproReport {

  private ReproReport() {}

  /** Chain links printed in the text report (the JSON keeps the condensed chain too). */
  static final int CHAIN_LINES = 14;

  /**
   * One row per precision run: outcome (finished / FAILED where), final loss per record, post-edit
   * Edit Succ. / Locality / Fluency (EasyEdit's summary, ×100), NaN/inf weights at the end, the
   * smallest FP16 headroom of the edits' forwards, the probe story's NLL before and after, and
   * whether the model collapsed ({@link RunResult#collapsed()}).
   */
  public static String comparisonTable(List<RunResult> runs) {
    List<String[]> rows = new ArrayList<>();
    rows.add(
        new String[] {
          "precision",
          "outcome",
          "final loss per edit",
          "edit succ.",
          "locality",
          "fluency",
          "NaN/inf weights",
          "min fp16 headroom (edit fwd)",
          "story NLL pre -> post",
          "model"
        });
    for (RunResult r : runs) {
      String outcome = r.firstFailure().map(f -> "FAILED: " + shortFailure(f)).orElse("finished");
      if (r.firstEditProblem().isPresent() && r.fallbacks().isEmpty()) {
        outcome += ", non-finite in " + r.firstEditProblem().get().replaceAll(":.*", "");
      }
      if (!r.fallbacks().isEmpty()) {
        outcome +=
            " ("
                + r.fallbacks().size()
                + " fallback"
                + (r.fallbacks().size() == 1 ? "" : "s")
                + ")";
      }
      String losses =
          r.records().stream().map(o -> fmt3(o.finalLoss())).collect(Collectors.joining(" / "));
      List<EditMetrics> posts = r.records().stream().flatMap(o -> o.post().stream()).toList();
      String succ = "-", loc = "-", flu = "-";
      if (!posts.isEmpty()) {
        EditSummary s = summary(posts);
        succ = String.format(Locale.ROOT, "%.1f", s.editSucc());
        loc = cell(s.locality());
        flu = cell(s.fluency());
      }
      double h = minHeadroom(r.headroom(), Phase.FORWARD, FloatFormat.FP16);
      double post = r.records().getLast().storyNll();
      String model = Double.isNaN(post) ? "NaN logits" : r.collapsed() ? "COLLAPSED" : "working";
      rows.add(
          new String[] {
            r.label(),
            outcome,
            losses,
            succ,
            loc,
            flu,
            Long.toString(r.totalNonFiniteWeights()),
            Double.isNaN(h) ? "-" : String.format(Locale.ROOT, "%.2f binades", h),
            fmt3(r.preStoryNll()) + " -> " + fmt3(post),
            model
          });
    }
    return align(rows);
  }

  private static String shortFailure(RecordOutcome.Failure f) {
    String where =
        switch (f.stage()) {
          case GENERATION -> "generation";
          case EDIT -> "edit";
          case POST_EVALUATION -> "evaluation";
          case PRE_EVALUATION -> "pre-edit evaluation";
        };
    return where + " of record " + f.record() + (f.step() >= 0 ? " step " + f.step() : "");
  }

  /**
   * EasyEdit's summary of post-edit metrics (EditSummary reads only the metrics of each result).
   */
  private static EditSummary summary(List<EditMetrics> posts) {
    List<io.nanscope.editing.eval.EditResult> fake = new ArrayList<>();
    for (int i = 0; i < posts.size(); i++) {
      fake.add(new io.nanscope.editing.eval.EditResult(i, null, 0, posts.get(i), posts.get(i)));
    }
    return EditSummary.of(fake, false);
  }

  /**
   * The headroom report of a run's edits: the largest |x| and smallest FP16/BF16 headroom of the
   * forwards and of the backwards, the gradient underflow (non-zero before rounding, zero after) of
   * the backward, and the table of the tightest sites. Empty when no stats were kept.
   */
  public static String headroom(RunResult r) {
    if (r.headroom().isEmpty()) {
      return "";
    }
    StringBuilder b = new StringBuilder();
    b.append("headroom of the edits (")
        .append(r.label())
        .append("; max over steps and edits, log2(maxFinite/max|x|)):\n");
    for (Phase p : List.of(Phase.FORWARD, Phase.BACKWARD)) {
      List<SiteStats> rows = rows(r.headroom(), p);
      if (rows.isEmpty()) {
        continue;
      }
      SiteStats top =
          rows.stream().max(Comparator.comparingDouble(s -> s.output().maxAbs())).orElseThrow();
      b.append(
          String.format(
              Locale.ROOT,
              "  %-8s largest |x| %s at %s (%s): %.2f binades below FP16's max, %.2f below BF16's%n",
              p.name().toLowerCase(Locale.ROOT),
              num(top.output().maxAbs()),
              top.at().site(),
              top.at().op(),
              top.output().headroomIn(FloatFormat.FP16),
              top.output().headroomIn(FloatFormat.BF16)));
    }
    List<SiteStats> back = rows(r.headroom(), Phase.BACKWARD);
    Underflow u = underflow(r.headroom());
    if (u.nonZero() > 0) {
      b.append(
          String.format(
              Locale.ROOT,
              "  backward underflow: %,d of %,d non-zero gradient values (%.1f%%) of the 16-bit gradient sites rounded to 0%n",
              u.flushed(),
              u.nonZero(),
              u.percent()));
      for (SiteStats s : u.worst()) {
        TensorStats t = s.output();
        long nz = nonZeroBeforeRounding(t);
        b.append(
            String.format(
                Locale.ROOT,
                "    %s (%s, %s): %,d of %,d (%.1f%%)%n",
                s.at().site(),
                s.at().op(),
                t.format().name(),
                t.underflow(),
                nz,
                100.0 * t.underflow() / nz));
      }
    } else if (!back.isEmpty()) {
      b.append(
          "  backward underflow: none (no gradient is rounded to a 16-bit format in this precision)\n");
    }
    Set<SiteStats> pick = new LinkedHashSet<>();
    tightest(rows(r.headroom(), Phase.FORWARD), 6).forEach(pick::add);
    tightest(back, 3).forEach(pick::add);
    List<SiteStats> ordered = new ArrayList<>(pick);
    b.append(StatsTable.render(ordered, FloatFormat.FP16, 6));
    return b.toString();
  }

  /**
   * Gradient underflow of the backward rows rounded to a narrower format than FP32 (non-zero before
   * rounding, zero after), with the three sites that lose the most values.
   */
  public record Underflow(long flushed, long nonZero, List<SiteStats> worst) {
    public double percent() {
      return nonZero == 0 ? 0 : 100.0 * flushed / nonZero;
    }
  }

  /** The backward underflow of a run's stats rows. */
  public static Underflow underflow(List<SiteStats> rows) {
    List<SiteStats> narrow =
        rows.stream()
            .filter(s ->
                s.at().phase() == Phase.BACKWARD
                    && s.output().hasUnrounded()
                    && s.output().format().info().bits() < 32)
            .toList();
    long flushed = 0, nonZero = 0;
    for (SiteStats s : narrow) {
      flushed += s.output().underflow();
      nonZero += nonZeroBeforeRounding(s.output());
    }
    List<SiteStats> worst =
        narrow.stream()
            .filter(s -> s.output().underflow() > 0)
            .sorted(Comparator.comparingLong((SiteStats s) -> -s.output().underflow()))
            .limit(3)
            .toList();
    return new Underflow(flushed, nonZero, worst);
  }

  /**
   * Values that were non-zero before rounding: stored zeros minus the underflowed ones are true
   * zeros.
   */
  static long nonZeroBeforeRounding(TensorStats t) {
    return t.count() - t.zero() + t.underflow();
  }

  private static List<SiteStats> rows(List<SiteStats> all, Phase p) {
    return all.stream().filter(s -> s.at().phase() == p).toList();
  }

  private static List<SiteStats> tightest(List<SiteStats> rows, int n) {
    return rows.stream()
        .filter(s -> s.output().maxAbs() > 0)
        .sorted(Comparator.comparingDouble(s -> s.output().headroomIn(FloatFormat.FP16)))
        .limit(n)
        .toList();
  }

  /** The smallest headroom in {@code fmt} over the rows of a phase; NaN without rows. */
  public static double minHeadroom(List<SiteStats> rows, Phase phase, FloatFormat fmt) {
    return rows.stream()
        .filter(s -> s.at().phase() == phase && s.output().maxAbs() > 0)
        .mapToDouble(s -> s.output().headroomIn(fmt))
        .min()
        .orElse(Double.NaN);
  }

  /**
   * The first-overflow report: the first op that produced a NaN/inf its inputs did not hold
   * (record, step, phase, stage, site, op, input/output stats, offending values with their bits,
   * the limit crossed), then the chain that followed, condensed to the first op per (phase, site)
   * and every new event; empty when the run stayed finite.
   */
  public static String firstOverflow(RunResult r) {
    var first = r.anomaly().first();
    if (first.isEmpty()) {
      return "";
    }
    FirstNonFinite e = first.get();
    StringBuilder b = new StringBuilder();
    b.append("[").append(r.label()).append("] ").append(e.report());
    b.append("  stage: ").append(stageOf(e.at().context().label())).append('\n');
    List<ChainLink> chain = r.anomaly().chain();
    ChainLink firstNan = chain.stream().filter(c -> c.nan() > 0).findFirst().orElse(null);
    if (firstNan != null && e.newInf() && !e.newNan()) {
      b.append("  first NaN after the first inf: ").append(firstNan.describe()).append('\n');
    }
    List<ChainLink> shown = condensed(chain);
    b.append("  chain (").append(chain.size()).append(" ops with non-finite outputs");
    if (r.anomaly().chainDropped() > 0) {
      b.append(", ").append(r.anomaly().chainDropped()).append(" more not kept");
    }
    b.append("; first op per phase and site, and every new event):\n");
    for (int i = 0; i < Math.min(CHAIN_LINES, shown.size()); i++) {
      b.append("    ").append(shown.get(i).describe()).append('\n');
    }
    if (shown.size() > CHAIN_LINES) {
      b.append("    … ").append(shown.size() - CHAIN_LINES).append(" more (see the JSON report)\n");
    }
    return b.toString();
  }

  /** The stage part of a {@code <run> | <stage>} label. */
  static String stageOf(String label) {
    int bar = label.indexOf(" | ");
    return bar < 0 ? label : label.substring(bar + 3);
  }

  static List<ChainLink> condensed(List<ChainLink> chain) {
    Set<String> seen = new HashSet<>();
    List<ChainLink> out = new ArrayList<>();
    for (ChainLink c : chain) {
      String key =
          c.at().context().record()
              + "/"
              + c.at().phase()
              + "/"
              + c.at().site().name()
              + "/"
              + c.at().op();
      if (c.origin() || seen.add(key)) {
        out.add(c);
      }
    }
    return out;
  }

  /**
   * The first-overflow report as one JSON object (the engine's {@code first_non_finite} fields plus
   * scenario, precision, stage, the first NaN link and the condensed chain), written atomically.
   */
  public static void writeFirstOverflowJson(Path file, String scenario, RunResult r) {
    FirstNonFinite e =
        r.anomaly()
            .first()
            .orElseThrow(() ->
                new IllegalArgumentException(
                    "the "
                        + r.label()
                        + " run stayed finite: there is no first overflow to write"));
    List<ChainLink> chain = r.anomaly().chain();
    Json j =
        e.toJson()
            .put("scenario", scenario)
            .put("precision", r.label())
            .put("policy", r.policy())
            .put("stage", stageOf(e.at().context().label()))
            .put("summary", e.summary())
            .put("events", r.anomaly().events().size())
            .put("chain_length", chain.size())
            .put("chain_dropped", r.anomaly().chainDropped());
    chain.stream()
        .filter(c -> c.nan() > 0)
        .findFirst()
        .ifPresent(c -> j.put("first_nan", c.toJson()));
    r.anomaly()
        .firstNewNan()
        .filter(n -> n != e)
        .ifPresent(n -> j.put("first_nan_event", n.toJson()));
    j.putObjects("chain", condensed(chain).stream().map(ChainLink::toJson).toList());
    r.firstFailure().ifPresent(f -> j.put("failure", f.describe()));
    JsonLines.write(file, List.of(j));
  }

  static String fmt3(double x) {
    return Numbers.fixed(x, 3);
  }

  static String num(double x) {
    return Numbers.general4(x);
  }

  private static String cell(OptionalDouble v) {
    return v.isPresent() ? String.format(Locale.ROOT, "%.1f", v.getAsDouble()) : "-";
  }

  static double log2(double x) {
    return Math.log(x) / Math.log(2);
  }

  /** Left-aligned columns separated by two spaces, with a dashed line under the header. */
  static String align(List<String[]> rows) {
    int cols = rows.getFirst().length;
    int[] w = new int[cols];
    for (String[] r : rows) {
      for (int c = 0; c < cols; c++) {
        w[c] = Math.max(w[c], r[c].length());
      }
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < rows.size(); i++) {
      String[] r = rows.get(i);
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < cols; c++) {
        line.append(c == 0 ? "" : "  ").append(r[c]).append(" ".repeat(w[c] - r[c].length()));
      }
      b.append(line.toString().stripTrailing()).append('\n');
      if (i == 0) {
        StringBuilder dash = new StringBuilder();
        for (int c = 0; c < cols; c++) {
          dash.append(c == 0 ? "" : "  ").append("-".repeat(w[c]));
        }
        b.append(dash).append('\n');
      }
    }
    return b.toString();
  }
}
