package io.nanscope.editing.request;

/**
 * An edit request after EasyEdit's ROME pre-processing ({@link EditRequest#forRome()}).
 *
 * @param promptTemplate the prompt with {@code {}} where the subject goes, e.g. "{}'s favorite toy
 *     is a"
 * @param subject the subject, e.g. "Lily"
 * @param targetNew the target with its leading space, e.g. " ball"
 */
public record RomeRequest(String promptTemplate, String subject, String targetNew) {

  /**
   * The prompt with the subject filled in ({@code prompt.format(subject)}). Every {@code {}} is
   * filled; Python's {@code format} with one argument would raise on a second {@code {}} (no record
   * of the shared CounterFact or zsRE files has its subject twice).
   */
  public String prompt() {
    return promptTemplate.replace("{}", subject);
  }

  /**
   * EasyEdit's log line {@code Executing ROME algorithm for the update: [<prompt>] -> [<target>]}.
   */
  public String logLine() {
    return "Executing ROME algorithm for the update: [" + prompt() + "] -> [" + targetNew + "]";
  }
}
