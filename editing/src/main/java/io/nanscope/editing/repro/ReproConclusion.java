package io.nanscope.editing.repro;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.engine.trace.TensorStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The short plain-language conclusion of a scenario, written from the measured results (never from
 * expectations: if a run did something else, the text says what it did).
 */
public final class ReproConclusion {

  private ReproConclusion() {}

  /** What the natural scenario shows. */
  public static String natural(List<RunResult> runs) {
    StringBuilder b = new StringBuilder();
    List<String> failed = new ArrayList<>();
    for (RunResult r : runs) {
      if (!r.finished() || r.anomaly().first().isPresent()) {
        failed.add(r.label());
      }
    }
    if (failed.isEmpty()) {
      b.append(
              runs.size() == 1
                  ? "The " + runs.getFirst().label() + " run"
                  : "All " + runs.size() + " precisions")
          .append(
              " finished with every value finite: no NaN or inf in any forward, backward, update or generation.");
    } else {
      b.append("Non-finite values appeared in: ")
          .append(String.join(", ", failed))
          .append(" (see the first-overflow report above).");
    }
    for (RunResult r : runs) {
      double fwd = ReproReport.minHeadroom(r.headroom(), Phase.FORWARD, FloatFormat.FP16);
      if (!Double.isNaN(fwd)) {
        b.append(
            String.format(
                Locale.ROOT,
                "%nIn %s the tightest forward site of the edit still had %.1f binades of FP16 headroom"
                    + " (its largest value is 2^%.1f times smaller than 65,504): range is not the problem on this model.",
                r.label(),
                fwd,
                fwd));
        break;
      }
    }
    for (RunResult r : runs) {
      ReproReport.Underflow u = ReproReport.underflow(r.headroom());
      if (u.flushed() > 0) {
        SiteStats worst = u.worst().getFirst();
        TensorStats t = worst.output();
        b.append(
            String.format(
                Locale.ROOT,
                "%n%s's trouble is at the other end of the range: in its backward %,d non-zero gradient values round"
                    + " to 0 (underflow), worst at %s (%s) where %.1f%% of the non-zero values are lost",
                r.label(),
                u.flushed(),
                worst.at().site(),
                worst.at().op(),
                100.0 * t.underflow() / ReproReport.nonZeroBeforeRounding(t)));
        b.append(finalLosses(runs)).append('.');
      }
    }
    return b.toString();
  }

  private static String finalLosses(List<RunResult> runs) {
    List<String> parts = new ArrayList<>();
    for (RunResult r : runs) {
      parts.add(r.label() + " " + ReproReport.fmt3(r.records().getFirst().finalLoss()));
    }
    return "; yet the first edit's final loss is " + String.join(", ", parts);
  }

  /** What the disabling-edit scenario shows. */
  public static String disablingEdit(
      List<RunResult> runs, Optional<DivisionFactorSweep.Result> sweep) {
    StringBuilder b = new StringBuilder();
    RecordOutcome firstEdit = runs.getFirst().records().getFirst();
    b.append(
        String.format(
            Locale.ROOT,
            "The first edit's Division Factor kᵀu was forced to %s (computed: %s) — a labelled intervention, not ROME.",
            ReproReport.num(firstEdit.divisionFactor()),
            ReproReport.num(firstEdit.computedDivisionFactor())));
    for (RunResult r : runs) {
      b.append('\n').append(r.label()).append(": ");
      Optional<FirstNonFinite> e = r.anomaly().first();
      if (r.firstFailure().isPresent()) {
        b.append("FAILED — ").append(r.firstFailure().get().describe());
        e.ifPresent(x ->
            b.append("; the first non-finite value was born at ")
                .append(x.at().describe())
                .append(" (")
                .append(ReproReport.stageOf(x.at().context().label()))
                .append("): ")
                .append(x.limitCrossed()));
      } else if (e.isPresent()) {
        b.append("finished, but non-finite values appeared at ")
            .append(e.get().at().describe())
            .append(" (")
            .append(ReproReport.stageOf(e.get().at().context().label()))
            .append(")");
      } else {
        b.append("finished with every value finite");
      }
      if (!r.fallbacks().isEmpty()) {
        b.append("; ")
            .append(r.fallbacks().size())
            .append(" fallback(s), weights finite: ")
            .append(r.totalNonFiniteWeights() == 0);
      }
      if (r.collapsed()) {
        b.append(
            String.format(
                Locale.ROOT,
                "; the model is COLLAPSED (probe-story NLL %s -> %s nats/token)",
                ReproReport.fmt3(r.preStoryNll()),
                ReproReport.fmt3(r.records().getLast().storyNll())));
      }
      b.append('.');
    }
    sweep.ifPresent(sw -> {
      for (int p = 0; p < sw.policies().size(); p++) {
        double lowestFinite = Double.NaN;
        double highestFailing = Double.NaN;
        for (int v = 0; v < sw.values().size(); v++) {
          DivisionFactorSweep.Cell c = sw.cell(v, p);
          if (c.failed()) {
            highestFailing =
                Double.isNaN(highestFailing) ? c.value() : Math.max(highestFailing, c.value());
          } else {
            lowestFinite =
                Double.isNaN(lowestFinite) ? c.value() : Math.min(lowestFinite, c.value());
          }
        }
        b.append('\n')
            .append("sweep, ")
            .append(ReproPipeline.shortName(sw.policies().get(p)))
            .append(": ");
        if (Double.isNaN(highestFailing)) {
          b.append("finite at every value tried (down to ")
              .append(ReproReport.num(lowestFinite))
              .append(")");
        } else {
          b.append("fails for kᵀu <= ").append(ReproReport.num(highestFailing));
          if (!Double.isNaN(lowestFinite)) {
            b.append(", finite at ")
                .append(ReproReport.num(lowestFinite))
                .append(lowestFinite < highestFailing ? " (not monotone)" : "");
          }
        }
        b.append('.');
      }
    });
    return b.toString();
  }
}
