package io.nanscope.editing.keys;

import io.nanscope.llama.generate.GenerateFast;
import java.util.ArrayList;
import java.util.List;

/**
 * MEMIT's and AlphaEdit's context templates (EasyEdit memit_main.get_context_templates): groups of
 * templates, {@code [["{}"], [5 sampled texts]]} — one text of at most 10 tokens (BOS counted) per
 * prompt word "The", "Therefore", "Because", "I", "You", top-k 5, each turned into {@code
 * text.replace("{", " ").replace("}", " ") + ". {}"} (a space, where ROME's templates drop the
 * brace).
 *
 * <p>The z optimisation reads all templates as one flat list ({@link #flat()}); the keys are the
 * mean over groups of the mean within each group (compute_ks.py), so {@code "{}"} weighs half.
 *
 * @param groups each a non-empty list of templates with one {@code {}}; the first group is {@code
 *     ["{}"]}
 * @param description how they were made (model, policy, seed)
 */
public record TemplateGroups(List<List<String>> groups, String description) {

  /** EasyEdit's (length, n_gen) for MEMIT and AlphaEdit: one group of 5 texts of 10 tokens. */
  public static final int LENGTH = 10;

  public TemplateGroups {
    groups = groups.stream().map(List::copyOf).toList();
    if (groups.isEmpty() || !groups.getFirst().equals(List.of("{}"))) {
      throw new IllegalArgumentException(
          "the first template group must be [\"{}\"], got " + groups);
    }
    for (List<String> g : groups) {
      if (g.isEmpty()) {
        throw new IllegalArgumentException("a template group is empty: " + groups);
      }
      for (String t : g) {
        if (!t.contains("{}")) {
          throw new IllegalArgumentException(
              "template \"" + t + "\" has no {} where the prompt goes");
        }
      }
    }
  }

  /** {@code [["{}"], [text + ". {}" for each sampled text]]} with EasyEdit's brace replacement. */
  public static TemplateGroups fromSamples(List<String> sampledTexts, String description) {
    List<String> g = new ArrayList<>();
    for (String x : sampledTexts) {
      g.add(x.replace("{", " ").replace("}", " ") + ". {}");
    }
    return new TemplateGroups(List.of(List.of("{}"), g), description);
  }

  /** Samples them as EasyEdit does: one text of {@link #LENGTH} tokens per prompt word, top-k 5. */
  public static TemplateGroups sample(GenerateFast gen, long seed, String description) {
    java.util.SplittableRandom rng = new java.util.SplittableRandom(seed);
    List<String> texts = gen.generate(ContextTemplates.PROMPTS, 1, LENGTH, 5, rng);
    return fromSamples(texts, description + ", seed " + seed);
  }

  /** All templates in order, as one list (the z optimisation's rewriting prompts). */
  public ContextTemplates flat() {
    return new ContextTemplates(groups.stream().flatMap(List::stream).toList(), description);
  }

  /** Python's repr, as EasyEdit prints {@code Cached context templates [['{}'], [...]]}. */
  public String pythonList() {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < groups.size(); i++) {
      if (i > 0) {
        b.append(", ");
      }
      List<String> g = groups.get(i);
      if (g.equals(List.of("{}"))) {
        b.append("['{}']");
        continue;
      }
      // ContextTemplates writes the repr; it needs "{}" first, which is then cut off again.
      List<String> l = new ArrayList<>();
      l.add("{}");
      l.addAll(g);
      b.append('[').append(new ContextTemplates(l, "").pythonList().substring("['{}', ".length()));
    }
    return b.append(']').toString();
  }
}
