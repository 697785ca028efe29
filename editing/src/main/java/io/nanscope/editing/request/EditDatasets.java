package io.nanscope.editing.request;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;

/**
 * Readers for the edit data sets EasyEdit uses, into {@link EditRequest}s. Each reads a JSON array
 * of records and fails with the file, record index and field on malformed input.
 *
 * <ul>
 *   <li>KnowEdit ({@code wiki_recent}, {@code wiki_counterfact}, {@code zsre}, {@code wikibio}) as
 *       EasyEdit's {@code KnowEditDataset} maps it (docs/reference/easyedit.md §6): {@code subject}
 *       (or {@code concept}), {@code prompt} (or {@code text}), {@code target_new} (or {@code
 *       labels}), {@code ground_truth} (string, list, or list of alias lists: first alias), {@code
 *       rephrase} or {@code rephrase_prompt}, and every {@code portability} / {@code locality}
 *       category, each probe's first alias being the scored answer. Probes with a blank answer are
 *       skipped, as {@code run_knowedit_llama2.py} does.
 *   <li>CounterFact as in EasyEdit's data package ({@code counterfact-edit.json}): one locality
 *       probe under the key "neighborhood" (EasyEdit's example scripts' name for it).
 *   <li>zsRE in MEND's format ({@code zsre_mend_*.json}): prompt = {@code src}, target = {@code
 *       alt}, ground truth = {@code answers[0]}, rephrase = {@code rephrase}, locality
 *       "neighborhood" = {@code loc} → {@code loc_ans} (EasyEdit's {@code ZsreDataset} mapping).
 *   <li>ROME's {@code known_1000.json} as {@link KnownFact}s.
 * </ul>
 */
public final class EditDatasets {

  /** Locality key for the single neighbourhood prompt of CounterFact and zsRE records. */
  public static final String NEIGHBORHOOD = "neighborhood";

  private EditDatasets() {}

  /**
   * Any of the data sets below, told apart by their field names: zsRE has {@code src} and {@code
   * alt}, CounterFact {@code locality_prompt}, anything else is read as KnowEdit.
   */
  public static List<EditRequest> read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("data file " + file + " does not exist; pass --data FILE");
    }
    String head = Files.readString(file);
    if (head.contains("\"src\"") && head.contains("\"alt\"")) {
      return zsre(file);
    }
    if (head.contains("\"locality_prompt\"")) {
      return counterFact(file);
    }
    return knowEdit(file);
  }

  public static List<EditRequest> knowEdit(Path file) throws IOException {
    return knowEdit(file.toString(), JsonRecords.array(file));
  }

  /** KnowEdit records from JSON text (an array); {@code source} names it in messages. */
  public static List<EditRequest> knowEdit(String source, String json) {
    return knowEdit(source, JsonRecords.array(source, json));
  }

  private static List<EditRequest> knowEdit(String source, List<JsonNode> records) {
    List<EditRequest> out = new ArrayList<>();
    for (int i = 0; i < records.size(); i++) {
      JsonRecords.At r = new JsonRecords.At(source, i, records.get(i));
      out.add(
          new EditRequest(
              r.text("subject", "concept"),
              r.text("prompt", "text"),
              r.text("target_new", "labels"),
              r.firstAlias("ground_truth"),
              r.has("rephrase") ? r.optionalText("rephrase") : r.optionalText("rephrase_prompt"),
              probes(r, "portability"),
              probes(r, "locality")));
    }
    return out;
  }

  private static Map<String, List<PromptAnswer>> probes(JsonRecords.At r, String field) {
    Map<String, List<PromptAnswer>> out = new LinkedHashMap<>();
    if (!r.has(field)) {
      return out;
    }
    JsonNode categories = r.node().get(field);
    if (!categories.isObject()) {
      throw r.error(
          field,
          "should be an object of category → [{prompt, ground_truth}], got "
              + categories.getNodeType());
    }
    for (Map.Entry<String, JsonNode> category : categories.properties()) {
      String where = field + "." + category.getKey();
      JsonNode items = category.getValue();
      if (items.isNull()) {
        continue;
      }
      if (!items.isArray()) {
        throw r.error(
            where,
            "should be a list of {prompt, ground_truth} objects, got " + items.getNodeType());
      }
      List<PromptAnswer> list = new ArrayList<>();
      for (JsonNode item : items.values()) {
        JsonNode prompt = item.get("prompt");
        if (prompt == null || !prompt.isString()) {
          throw r.error(where, "has an item without a string 'prompt': " + item);
        }
        JsonNode truth = item.get("ground_truth");
        List<String> aliases =
            truth == null ? List.of() : r.aliases(where + ".ground_truth", truth);
        if (aliases.isEmpty() || aliases.get(0).isBlank()) {
          continue; // EasyEdit's run_knowedit_llama2.py drops probes whose answer is blank
        }
        list.add(new PromptAnswer(prompt.stringValue(), aliases));
      }
      if (!list.isEmpty()) {
        out.put(category.getKey(), list);
      }
    }
    return out;
  }

  public static List<EditRequest> counterFact(Path file) throws IOException {
    return records(
        file,
        r ->
            new EditRequest(
                r.text("subject"),
                r.text("prompt"),
                r.text("target_new"),
                Optional.of(r.text("ground_truth")),
                r.optionalText("rephrase_prompt"),
                Map.of(),
                neighborhood(r.text("locality_prompt"), r.text("locality_ground_truth"))));
  }

  public static List<EditRequest> zsre(Path file) throws IOException {
    return records(
        file,
        r ->
            new EditRequest(
                r.text("subject"),
                r.text("src"),
                r.text("alt"),
                r.firstAlias("answers"),
                r.optionalText("rephrase"),
                Map.of(),
                neighborhood(r.text("loc"), r.text("loc_ans"))));
  }

  private static Map<String, List<PromptAnswer>> neighborhood(String prompt, String answer) {
    return Map.of(NEIGHBORHOOD, List.of(new PromptAnswer(prompt, answer)));
  }

  public static List<KnownFact> known1000(Path file) throws IOException {
    return records(
        file,
        r ->
            new KnownFact(
                r.integer("known_id"),
                r.text("subject"),
                r.text("attribute"),
                r.text("template"),
                r.text("prompt"),
                r.text("prediction"),
                r.text("relation_id")));
  }

  private static <T> List<T> records(Path file, Function<JsonRecords.At, T> read)
      throws IOException {
    List<JsonNode> records = JsonRecords.array(file);
    List<T> out = new ArrayList<>();
    for (int i = 0; i < records.size(); i++) {
      out.add(read.apply(new JsonRecords.At(file.toString(), i, records.get(i))));
    }
    return out;
  }
}
