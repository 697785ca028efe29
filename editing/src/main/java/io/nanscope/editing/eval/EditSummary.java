package io.nanscope.editing.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.Function;

/**
 * The summary line of EasyEdit's KnowEdit runs ({@code eval()} in {@code run_knowedit_llama2.py},
 * docs/reference/easyedit.md §6), all ×100:
 *
 * <ul>
 *   <li>Edit Succ. = mean over records of the record's rewrite accuracy (its {@code rewrite_acc}
 *       list's mean; EasyEdit takes {@code rewrite_acc[0]}, the same for the usual one prompt per
 *       record);
 *   <li>Portability = mean over records that have portability probes of (mean over keys of (mean
 *       over the key's probes));
 *   <li>Locality = the same over locality keys;
 *   <li>Fluency = mean over records of {@code fluency.ngram_entropy}.
 * </ul>
 *
 * A metric no record has is empty (printed as "-").
 *
 * @param records number of records summarised
 */
public record EditSummary(
    int records,
    double editSucc,
    OptionalDouble portability,
    OptionalDouble locality,
    OptionalDouble fluency) {

  /**
   * Summary of the {@code post} (or, with {@code pre = true}, the {@code pre}) metrics of results.
   */
  public static EditSummary of(List<EditResult> results, boolean pre) {
    if (results.isEmpty()) {
      throw new IllegalArgumentException("no results to summarise");
    }
    Function<EditResult, EditMetrics> phase = pre ? EditResult::pre : EditResult::post;
    List<Double> edit = new ArrayList<>();
    List<Double> port = new ArrayList<>();
    List<Double> loc = new ArrayList<>();
    List<Double> flu = new ArrayList<>();
    for (EditResult r : results) {
      EditMetrics m = phase.apply(r);
      mean(m.rewriteAcc()).ifPresent(edit::add);
      meanOfKeyMeans(m.portability()).ifPresent(port::add);
      meanOfKeyMeans(m.locality()).ifPresent(loc::add);
      m.fluency().ifPresent(flu::add);
    }
    if (edit.isEmpty()) {
      throw new IllegalArgumentException("no record has a rewrite accuracy");
    }
    return new EditSummary(
        results.size(),
        mean(edit).getAsDouble() * 100,
        scaled(mean(port)),
        scaled(mean(loc)),
        scaled(mean(flu)));
  }

  private static OptionalDouble scaled(OptionalDouble v) {
    return v.isPresent() ? OptionalDouble.of(v.getAsDouble() * 100) : v;
  }

  static OptionalDouble mean(List<Double> values) {
    if (values.isEmpty()) {
      return OptionalDouble.empty();
    }
    double sum = 0;
    for (double v : values) {
      sum += v;
    }
    return OptionalDouble.of(sum / values.size());
  }

  static OptionalDouble meanOfKeyMeans(Map<String, List<Double>> byKey) {
    List<Double> keyMeans = new ArrayList<>();
    for (List<Double> v : byKey.values()) {
      mean(v).ifPresent(keyMeans::add);
    }
    return mean(keyMeans);
  }

  /**
   * A plain-text table of pre- and post-edit summaries:
   *
   * <pre>
   *          Edit Succ.  Portability  Locality  Fluency
   * pre           12.50        33.33         -   512.34
   * post         100.00        50.00     87.50   498.76
   * </pre>
   */
  public static String table(EditSummary pre, EditSummary post) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "%-6s %11s %12s %9s %8s%n",
            "",
            "Edit Succ.",
            "Portability",
            "Locality",
            "Fluency"));
    for (var row : List.of(Map.entry("pre", pre), Map.entry("post", post))) {
      EditSummary s = row.getValue();
      sb.append(
          String.format(
              Locale.ROOT,
              "%-6s %11.2f %12s %9s %8s%n",
              row.getKey(),
              s.editSucc(),
              cell(s.portability()),
              cell(s.locality()),
              cell(s.fluency())));
    }
    return sb.toString();
  }

  private static String cell(OptionalDouble v) {
    return v.isPresent() ? String.format(Locale.ROOT, "%.2f", v.getAsDouble()) : "-";
  }
}
