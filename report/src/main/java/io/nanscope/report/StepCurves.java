package io.nanscope.report;

import io.nanscope.editing.keys.TargetValue;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Records ROME's target-value optimisation steps (loss, NLL, KL, weight decay, avg prob) per run
 * for the report's line plots, through {@link TargetValue.StepListener}s — independent of the
 * EasyEdit text log. Wrap the listener a run already has:
 *
 * <pre>{@code
 * StepCurves curves = new StepCurves();
 * Rome.Options opts = Rome.Options.of(policy, ctx).withListener(curves.listener("fp16", TargetValue.StepListener.ALWAYS));
 * ... run the edits ...
 * curves.addTo(report);   // "loss per step" and "avg prob of the target per step"
 * }</pre>
 *
 * A step with iteration 0 starts a new run (the next edit, or the next layer of a multi-layer
 * edit). A label with one run names its curves by the label ({@code fp16}); a label with several
 * names them {@code fp16 #1}, {@code fp16 #2}, … in order. Thread-safe.
 */
public final class StepCurves {

  /** One optimisation: the label it was recorded under and its steps in order. */
  public record Run(String label, List<TargetValue.Step> steps) {}

  private final List<String> labels = new ArrayList<>();
  private final List<List<TargetValue.Step>> runs = new ArrayList<>();
  private final Map<String, List<TargetValue.Step>> current = new LinkedHashMap<>();

  /** A listener that records every step under {@code label}, then asks {@code next}. */
  public TargetValue.StepListener listener(String label, TargetValue.StepListener next) {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(next, "next (use TargetValue.StepListener.ALWAYS)");
    return (step, delta) -> {
      record(label, step);
      return next.onStep(step, delta);
    };
  }

  /** Records one step under {@code label} (what the listener does). */
  public synchronized void record(String label, TargetValue.Step step) {
    List<TargetValue.Step> run = current.get(label);
    if (run == null || step.iteration() == 0) {
      run = new ArrayList<>();
      current.put(label, run);
      labels.add(label);
      runs.add(run);
    }
    run.add(step);
  }

  /** Every run in the order it started. */
  public synchronized List<Run> runs() {
    List<Run> out = new ArrayList<>();
    for (int i = 0; i < runs.size(); i++) {
      out.add(new Run(labels.get(i), List.copyOf(runs.get(i))));
    }
    return out;
  }

  /** Curve name → total loss per step. */
  public Map<String, double[]> loss() {
    return curves(TargetValue.Step::loss);
  }

  /** Curve name → EasyEdit's "avg prob of [target]" per step. */
  public Map<String, double[]> avgProb() {
    return curves(TargetValue.Step::avgProb);
  }

  /** Curve name → any per-step value. */
  public synchronized Map<String, double[]> curves(ToDoubleFunction<TargetValue.Step> value) {
    Map<String, Integer> perLabel = new LinkedHashMap<>();
    labels.forEach(l -> perLabel.merge(l, 1, Integer::sum));
    Map<String, Integer> seen = new LinkedHashMap<>();
    Map<String, double[]> out = new LinkedHashMap<>();
    for (int i = 0; i < runs.size(); i++) {
      String l = labels.get(i);
      int k = seen.merge(l, 1, Integer::sum);
      String name = perLabel.get(l) == 1 ? l : l + " #" + k;
      out.put(name, runs.get(i).stream().mapToDouble(value).toArray());
    }
    return out;
  }

  /**
   * Adds the two plots (loss, avg prob per step) to {@code report}, or a line of text saying no
   * step was recorded.
   */
  public Report addTo(Report report) {
    if (runs().isEmpty()) {
      return report.text("No ROME optimisation step was recorded.");
    }
    report.lineChart("loss per step", "step", "loss (NLL + KL + weight decay)", loss());
    return report.lineChart("avg prob of the target per step", "step", "avg prob", avgProb());
  }
}
