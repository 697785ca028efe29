package io.nanscope.editing.request;

import java.util.List;

/**
 * One probe of a portability or locality category: a prompt and its acceptable answers.
 *
 * @param prompt the text the model continues
 * @param answers the aliases, depth-first from the (possibly nested) JSON list, so {@code
 *     answers.get(0)} is the alias EasyEdit uses ({@code while isinstance(an, list): an = an[0]})
 */
public record PromptAnswer(String prompt, List<String> answers) {

  public PromptAnswer {
    answers = List.copyOf(answers);
    if (answers.isEmpty()) {
      throw new IllegalArgumentException(
          "prompt \"" + prompt + "\" has no answer; give at least one");
    }
  }

  public PromptAnswer(String prompt, String answer) {
    this(prompt, List.of(answer));
  }

  /** The answer EasyEdit scores: the first alias. */
  public String answer() {
    return answers.get(0);
  }
}
