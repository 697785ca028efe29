package io.nanscope.editing.eval;

import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.PromptAnswer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One record of EasyEdit's results JSON: {@code {"case_id", "requested_rewrite", "time", "pre",
 * "post"}}.
 *
 * @param caseId index of the record in the data set
 * @param request the edit
 * @param seconds wall time of the edit
 * @param pre metrics of the unedited model
 * @param post metrics of the edited model
 */
public record EditResult(
    int caseId, EditRequest request, double seconds, EditMetrics pre, EditMetrics post) {

  /** The EasyEdit-shaped object (plain maps, lists, strings and numbers). */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("case_id", caseId);
    m.put("requested_rewrite", requestedRewrite(request));
    m.put("time", seconds);
    m.put("post", post.toMap());
    m.put("pre", pre.toMap());
    return m;
  }

  /**
   * The request as EasyEdit echoes it: prompt, target_new, ground_truth, subject, rephrase_prompt
   * and portability / locality as {@code {key: {"prompt": [...], "ground_truth": [...]}}} (first
   * aliases).
   */
  static Map<String, Object> requestedRewrite(EditRequest r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("prompt", r.prompt());
    m.put("target_new", r.targetNew());
    // EasyEdit fills a missing ground truth with "<|endoftext|>" (BaseEditor.edit)
    m.put("ground_truth", r.groundTruth().orElse("<|endoftext|>"));
    m.put("portability", probes(r.portability()));
    m.put("locality", probes(r.locality()));
    m.put("subject", r.subject());
    r.rephrase().ifPresent(p -> m.put("rephrase_prompt", p));
    return m;
  }

  private static Map<String, Object> probes(Map<String, List<PromptAnswer>> byKey) {
    Map<String, Object> m = new LinkedHashMap<>();
    byKey.forEach((k, list) -> {
      Map<String, Object> inputs = new LinkedHashMap<>();
      inputs.put("prompt", list.stream().map(PromptAnswer::prompt).toList());
      inputs.put("ground_truth", list.stream().map(PromptAnswer::answer).toList());
      m.put(k, inputs);
    });
    return m;
  }
}
