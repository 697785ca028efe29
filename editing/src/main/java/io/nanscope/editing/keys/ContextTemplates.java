package io.nanscope.editing.keys;

import io.nanscope.llama.generate.GenerateFast;
import java.util.ArrayList;
import java.util.List;

/**
 * ROME's context templates (EasyEdit rome_main.get_context_templates): {@code "{}"} plus, for every
 * (length, count) in {@code context_template_length_params}, {@code count / 5} texts sampled with
 * top-k 5 from each of the prompts "The", "Therefore", "Because", "I", "You", each turned into
 * {@code text.replace("{", "").replace("}", "") + ". {}"}.
 *
 * <p>EasyEdit caches them in a process-wide global computed on the first edit's unedited model;
 * here the caller owns the value (docs/architecture.md, design rules: no hidden global caches) and
 * passes it to every edit.
 *
 * @param templates each with exactly one {@code {}}; the first is {@code "{}"}
 * @param description how they were made (model, policy, seed), for the log and the results
 */
public record ContextTemplates(List<String> templates, String description) {

  /** The five prompt words EasyEdit samples from. */
  public static final List<String> PROMPTS = List.of("The", "Therefore", "Because", "I", "You");

  public ContextTemplates {
    templates = List.copyOf(templates);
    if (templates.isEmpty() || !templates.getFirst().equals("{}")) {
      throw new IllegalArgumentException(
          "context templates must start with \"{}\", got " + templates);
    }
  }

  /** Only {@code "{}"} (no sampled context): a quick, deterministic choice for tests. */
  public static ContextTemplates bare() {
    return new ContextTemplates(List.of("{}"), "bare {} only");
  }

  /**
   * Builds the templates from sampled texts, in EasyEdit's order: for each length group the texts
   * of {@link #PROMPTS}, {@code perPrompt} each.
   */
  public static ContextTemplates fromSamples(List<String> sampledTexts, String description) {
    List<String> t = new ArrayList<>();
    t.add("{}");
    for (String x : sampledTexts) {
      t.add(x.replace("{", "").replace("}", "") + ". {}");
    }
    return new ContextTemplates(t, description);
  }

  /**
   * Samples the templates as EasyEdit does: for each (length, count) of {@code lengthParams},
   * {@code count / 5} texts of at most {@code length} tokens (BOS counted) from each of {@link
   * #PROMPTS}, top-k 5, on the model {@code gen} wraps (EasyEdit: the unedited model at the first
   * edit).
   */
  public static ContextTemplates sample(
      GenerateFast gen, List<List<Integer>> lengthParams, long seed, String description) {
    java.util.SplittableRandom rng = new java.util.SplittableRandom(seed);
    List<String> texts = new ArrayList<>();
    for (List<Integer> lc : lengthParams) {
      if (lc.size() != 2 || lc.get(0) < 1 || lc.get(1) < 0) {
        throw new IllegalArgumentException(
            "context_template_length_params entries are [length, count] with length >= 1, got "
                + lc);
      }
      texts.addAll(gen.generate(PROMPTS, lc.get(1) / PROMPTS.size(), lc.get(0), 5, rng));
    }
    return fromSamples(texts, description + ", seed " + seed);
  }

  /** {@code templ.format(prompt)} for every template: the subject's {@code {}} stays in. */
  public List<String> around(String promptTemplate) {
    return templates.stream().map(t -> t.replace("{}", promptTemplate)).toList();
  }

  /** Python's repr of the list, as EasyEdit prints {@code Cached context templates [...]}. */
  public String pythonList() {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < templates.size(); i++) {
      if (i > 0) {
        b.append(", ");
      }
      String s = templates.get(i);
      boolean dq = s.contains("'") && !s.contains("\"");
      char q = dq ? '"' : '\'';
      b.append(q);
      for (char c : s.toCharArray()) {
        switch (c) {
          case '\\' -> b.append("\\\\");
          case '\n' -> b.append("\\n");
          case '\t' -> b.append("\\t");
          default -> {
            if (c == q) {
              b.append('\\');
            }
            b.append(c);
          }
        }
      }
      b.append(q);
    }
    return b.append(']').toString();
  }
}
