package io.nanscope.report;

import io.nanscope.editing.eval.EditSummary;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.rome.Rome;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;

/**
 * The {@code edit --report} page: loss and avg prob per ROME step for every edit (recorded through
 * the step listener, not parsed from the log), one row per edit (subject, target, layer, steps,
 * first/last loss, last avg prob, kᵀu, non-finite weights) and the pre/post summary. Hook it in
 * before the edits run:
 *
 * <pre>{@code
 * EditReport rep = new EditReport();
 * Rome.Options opts = rep.wrap(Rome.Options.of(policy, ctx), "edit");
 * RomeEditor editor = new RomeEditor(model, tok, hp, templates, opts, log, rep::add);
 * }</pre>
 */
public final class EditReport {

  private final StepCurves curves = new StepCurves();
  private final List<Rome.Outcome> outcomes = new ArrayList<>();

  /**
   * The options with a listener that records every step under {@code label}, then asks the old one.
   */
  public Rome.Options wrap(Rome.Options options, String label) {
    return options.withListener(curves.listener(label, options.listener()));
  }

  /** Records an edit's outcome (pass as the editor's outcome consumer). */
  public synchronized void add(Rome.Outcome outcome) {
    outcomes.add(outcome);
  }

  public StepCurves curves() {
    return curves;
  }

  /** The report; {@code pre}/{@code post} may be null when no evaluation ran. */
  public synchronized Report build(
      String title, String description, EditSummary pre, EditSummary post) {
    Report r = new Report(title);
    r.heading("Run").text(description);
    r.heading("Optimisation of the target value v*");
    curves.addTo(r);
    List<List<String>> rows = new ArrayList<>();
    int i = 0;
    for (Rome.Outcome o : outcomes) {
      i++;
      for (Rome.LayerUpdate l : o.layers()) {
        List<TargetValue.Step> steps = l.value().steps();
        rows.add(
            List.of(
                Integer.toString(i),
                o.request().subject(),
                o.request().targetNew(),
                Integer.toString(l.layer()),
                Integer.toString(steps.size()),
                steps.isEmpty() ? "-" : Text.num(steps.getFirst().loss()),
                steps.isEmpty() ? "-" : Text.num(steps.getLast().loss()),
                steps.isEmpty() ? "-" : Text.num(steps.getLast().avgProb()),
                Text.num(l.divisionFactor())
                    + (l.overridden()
                        ? " (override; computed " + Text.num(l.computedDivisionFactor()) + ")"
                        : ""),
                Long.toString(l.nonFiniteWeights())));
      }
    }
    List<Integer> bad = new ArrayList<>();
    for (int k = 0; k < rows.size(); k++) {
      if (!rows.get(k).getLast().equals("0") || rows.get(k).get(6).equals("NaN")) {
        bad.add(k);
      }
    }
    r.table(
        "edits (highlighted: a non-finite loss or non-finite weights)",
        List.of(
            "edit",
            "subject",
            "target",
            "layer",
            "steps",
            "first loss",
            "last loss",
            "last avg prob",
            "kᵀu",
            "non-finite weights"),
        rows,
        java.util.Set.copyOf(bad));
    if (pre != null && post != null) {
      r.heading("Metrics");
      List<List<String>> m = new ArrayList<>();
      m.add(summaryRow("pre", pre));
      m.add(summaryRow("post", post));
      r.table(
          "summary (EasyEdit's summary_metrics, in %; fluency: n-gram entropy)",
          List.of("", "records", "Edit Succ.", "Portability", "Locality", "Fluency"), m);
    }
    return r;
  }

  private static List<String> summaryRow(String name, EditSummary s) {
    return List.of(
        name,
        Integer.toString(s.records()),
        String.format(Locale.ROOT, "%.2f", s.editSucc()),
        cell(s.portability()),
        cell(s.locality()),
        cell(s.fluency()));
  }

  private static String cell(OptionalDouble v) {
    return v.isPresent() ? String.format(Locale.ROOT, "%.2f", v.getAsDouble()) : "-";
  }
}
