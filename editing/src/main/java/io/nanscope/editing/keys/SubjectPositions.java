package io.nanscope.editing.keys;

import io.nanscope.llama.tokenizer.Tokenizer;

/**
 * Where the subject's last token sits in a prompt (ROME's {@code fact_token = "subject_last"};
 * EasyEdit repr_tools.get_words_idxs_in_templates and compute_v.find_fact_lookup_idx): {@code index
 * = len(tok.encode(prefix + subject)) − 1}, where prefix is the template text before {@code {}} and
 * the encoding includes BOS, so the index counts BOS.
 */
public final class SubjectPositions {

  private SubjectPositions() {}

  /**
   * @param template a text with one {@code {}} where the subject goes (more text may follow it)
   * @return the token index of the subject's last token in {@code encode(template with subject,
   *     BOS)}
   */
  public static int subjectLast(Tokenizer tok, String template, String subject) {
    int at = template.indexOf("{}");
    if (at < 0) {
      throw new IllegalArgumentException(
          "the prompt \"" + template + "\" has no {} where the subject \"" + subject + "\" goes");
    }
    String prefix = template.substring(0, at);
    return tok.encode(prefix + subject, true, false).length - 1;
  }

  /** {@code template} with every {@code {}} replaced by {@code subject}. */
  public static String fill(String template, String subject) {
    return template.replace("{}", subject);
  }
}
