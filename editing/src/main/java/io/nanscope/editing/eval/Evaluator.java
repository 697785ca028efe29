package io.nanscope.editing.eval;

import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.PromptAnswer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.Function;

/**
 * EasyEdit's compute_edit_quality on a model: rewrite and rephrase accuracy, portability per key,
 * locality (share of argmax tokens unchanged from the unedited model) and fluency (n-gram entropy
 * of a sampled generation from the edit prompt).
 */
public final class Evaluator {

  private final ModelProbes probes;
  private final Function<String, String> fluencyGeneration;

  /**
   * @param fluencyGeneration prompt → generated text (EasyEdit's generate_fast with top-k 5 and
   *     max_out_len 100), or null to skip fluency; it may throw — that is where the fp16 bug
   *     crashes
   */
  public Evaluator(ModelProbes probes, Function<String, String> fluencyGeneration) {
    this.probes = probes;
    this.fluencyGeneration = fluencyGeneration;
  }

  /** One phase's metrics plus the argmax ids of the locality probes (kept from before the edit). */
  public record Evaluated(EditMetrics metrics, Map<String, List<int[]>> localityIds) {}

  /**
   * Evaluates {@code r}. Before the edit pass {@code preLocality = null}: locality is then recorded
   * (ids) but not scored; after it pass the pre-edit ids and locality is the unchanged share.
   */
  public Evaluated evaluate(EditRequest r, Map<String, List<int[]>> preLocality) {
    String prompt = r.filledPrompt();
    List<Double> rewrite = List.of(probes.probe(prompt, r.targetNew()).accuracy());
    Optional<List<Double>> rephrase =
        r.rephrase().map(p -> List.of(probes.probe(p, r.targetNew()).accuracy()));
    Map<String, List<Double>> portability = new LinkedHashMap<>();
    r.portability()
        .forEach((key, items) -> {
          List<Double> acc = new ArrayList<>();
          for (PromptAnswer pa : items) {
            acc.add(probes.probe(pa.prompt(), pa.answer()).accuracy());
          }
          portability.put(key, acc);
        });
    Map<String, List<int[]>> ids = new LinkedHashMap<>();
    Map<String, List<Double>> locality = new LinkedHashMap<>();
    r.locality()
        .forEach((key, items) -> {
          List<int[]> now = new ArrayList<>();
          for (PromptAnswer pa : items) {
            now.add(probes.probe(pa.prompt(), pa.answer()).predicted());
          }
          ids.put(key, now);
          if (preLocality != null && preLocality.containsKey(key)) {
            List<Double> share = new ArrayList<>();
            for (int i = 0; i < now.size(); i++) {
              share.add(TokenMetrics.unchangedShare(preLocality.get(key).get(i), now.get(i)));
            }
            locality.put(key, share);
          }
        });
    OptionalDouble fluency = OptionalDouble.empty();
    if (fluencyGeneration != null) {
      fluency = OptionalDouble.of(NgramEntropy.fluency(fluencyGeneration.apply(prompt)));
    }
    return new Evaluated(new EditMetrics(rewrite, rephrase, portability, locality, fluency), ids);
  }
}
