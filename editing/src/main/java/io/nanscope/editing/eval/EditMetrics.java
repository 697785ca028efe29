package io.nanscope.editing.eval;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * The metrics of one record at one phase ({@code pre} or {@code post} the edit), EasyEdit's shape.
 *
 * @param rewriteAcc teacher-forced accuracy per rewrite prompt ({@code rewrite_acc})
 * @param rephraseAcc per rephrase prompt ({@code rephrase_acc}), when the record has one
 * @param portability category → accuracy per probe ({@code portability.<key>_acc})
 * @param locality category → unchanged share per probe ({@code locality.<key>_acc}); empty before
 *     the edit, where EasyEdit keeps the argmax ids instead
 * @param fluency n-gram entropy of a sampled generation ({@code fluency.ngram_entropy}), when
 *     computed
 */
public record EditMetrics(
    List<Double> rewriteAcc,
    Optional<List<Double>> rephraseAcc,
    Map<String, List<Double>> portability,
    Map<String, List<Double>> locality,
    OptionalDouble fluency) {

  public EditMetrics {
    rewriteAcc = List.copyOf(rewriteAcc);
    rephraseAcc = rephraseAcc.map(List::copyOf);
    portability = copy(portability);
    locality = copy(locality);
  }

  private static Map<String, List<Double>> copy(Map<String, List<Double>> m) {
    Map<String, List<Double>> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, List.copyOf(v)));
    return java.util.Collections.unmodifiableMap(out);
  }

  /**
   * EasyEdit's JSON object for this phase: plain maps, lists and numbers, ready for any JSON
   * writer.
   */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rewrite_acc", rewriteAcc);
    rephraseAcc.ifPresent(r -> m.put("rephrase_acc", r));
    m.put("locality", suffixed(locality));
    m.put("portability", suffixed(portability));
    fluency.ifPresent(f -> m.put("fluency", Map.of("ngram_entropy", f)));
    return m;
  }

  private static Map<String, Object> suffixed(Map<String, List<Double>> byKey) {
    Map<String, Object> m = new LinkedHashMap<>();
    byKey.forEach((k, v) -> m.put(k + "_acc", v));
    return m;
  }
}
