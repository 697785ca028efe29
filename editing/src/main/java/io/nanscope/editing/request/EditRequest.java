package io.nanscope.editing.request;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One knowledge edit, in EasyEdit's terms: make the model continue {@code prompt} (which mentions
 * {@code subject}) with {@code targetNew} instead of {@code groundTruth}; probe generalisation with
 * {@code rephrase} and the portability prompts, and side effects with the locality prompts.
 *
 * @param subject the entity whose last token carries the key k* (e.g. "Lily")
 * @param prompt the prompt as stored in the data set, with the subject written out (or {@code {}})
 * @param targetNew the new answer, as stored (no leading space; see {@link #forRome()})
 * @param groundTruth the old answer, when the data set has one
 * @param rephrase a paraphrase of the prompt, when the data set has one
 * @param portability category (e.g. "Reasoning", "Subject_Aliasing", "Logical_Generalization") →
 *     probes
 * @param locality category (e.g. "Relation_Specificity", "Forgetfulness", "neighborhood") → probes
 */
public record EditRequest(
    String subject,
    String prompt,
    String targetNew,
    Optional<String> groundTruth,
    Optional<String> rephrase,
    Map<String, List<PromptAnswer>> portability,
    Map<String, List<PromptAnswer>> locality) {

  public EditRequest {
    requireText("subject", subject);
    requireText("prompt", prompt);
    if (targetNew == null) {
      // empty is allowed: 2 of the 1000 zsRE records have alt "" (EasyEdit then edits towards " ")
      throw new IllegalArgumentException("edit request field 'target_new' is missing");
    }
    portability = copy(portability);
    locality = copy(locality);
  }

  /** A request without rephrase, portability or locality probes. */
  public static EditRequest of(String subject, String prompt, String targetNew) {
    return new EditRequest(
        subject, prompt, targetNew, Optional.empty(), Optional.empty(), Map.of(), Map.of());
  }

  private static void requireText(String field, String value) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("edit request field '" + field + "' is missing or blank");
    }
  }

  private static Map<String, List<PromptAnswer>> copy(Map<String, List<PromptAnswer>> m) {
    Map<String, List<PromptAnswer>> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, List.copyOf(v)));
    return java.util.Collections.unmodifiableMap(out);
  }

  /**
   * EasyEdit's ROME pre-processing ({@code execute_rome}, docs/reference/easyedit.md §1): the
   * target gets a leading space unless it is exactly " " (the space is needed for correct
   * tokenisation), and a prompt without {@code {}} has every occurrence of the subject replaced by
   * {@code {}} (Python's {@code str.replace}).
   *
   * @throws IllegalArgumentException if the prompt has no {@code {}} and does not contain the
   *     subject (EasyEdit asserts the same)
   */
  public RomeRequest forRome() {
    String target = targetNew.equals(" ") ? targetNew : " " + targetNew;
    String template = prompt;
    if (!template.contains("{}")) {
      if (!template.contains(subject)) {
        throw new IllegalArgumentException(
            "subject \""
                + subject
                + "\" does not occur in prompt \""
                + prompt
                + "\": ROME needs the subject in the prompt (or a {} where it goes)");
      }
      template = template.replace(subject, "{}");
    }
    return new RomeRequest(template, subject, target);
  }

  /**
   * The prompt with the subject written out (a prompt stored with {@code {}} gets it filled in).
   */
  public String filledPrompt() {
    return prompt.replace("{}", subject);
  }
}
