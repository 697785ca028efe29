package io.nanscope.editing.request;

import java.util.Optional;

/**
 * A record of ROME's {@code known_1000.json}: a fact GPT-2 XL predicts correctly (used for causal
 * tracing).
 *
 * @param knownId {@code known_id}
 * @param subject {@code subject}
 * @param attribute {@code attribute}: the true object, e.g. "Antarctica"
 * @param template {@code template}: e.g. "{} is located in the continent"
 * @param prompt {@code prompt}: the subject filled in, may extend the template
 * @param prediction {@code prediction}: GPT-2 XL's continuation
 * @param relationId {@code relation_id}: Wikidata relation, e.g. "P30"
 */
public record KnownFact(
    int knownId,
    String subject,
    String attribute,
    String template,
    String prompt,
    String prediction,
    String relationId) {

  /** An edit of this fact to a new object; the attribute becomes the ground truth. */
  public EditRequest toRequest(String targetNew) {
    return new EditRequest(
        subject,
        prompt,
        targetNew,
        Optional.of(attribute),
        Optional.empty(),
        java.util.Map.of(),
        java.util.Map.of());
  }
}
