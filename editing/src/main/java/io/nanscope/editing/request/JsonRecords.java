package io.nanscope.editing.request;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Reading one JSON array of records with messages that name the file, the record and the field. */
final class JsonRecords {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private JsonRecords() {}

  static List<JsonNode> array(Path file) throws IOException {
    return array(file.toString(), Files.readString(file));
  }

  static List<JsonNode> array(String source, String text) {
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (JacksonException e) {
      throw new IllegalArgumentException(
          source + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
    }
    if (root == null || !root.isArray()) {
      throw new IllegalArgumentException(
          source
              + ": expected a JSON array of records [ {...}, ... ], got "
              + (root == null ? "nothing" : root.getNodeType()));
    }
    List<JsonNode> out = new ArrayList<>();
    root.values().forEach(out::add);
    return out;
  }

  /** A record being read: where it is, for messages. */
  record At(String source, int index, JsonNode node) {

    At {
      if (!node.isObject()) {
        throw new IllegalArgumentException(
            source + " record " + index + ": expected a JSON object, got " + node.getNodeType());
      }
    }

    IllegalArgumentException error(String field, String message) {
      return new IllegalArgumentException(
          source + " record " + index + ": field '" + field + "' " + message);
    }

    boolean has(String field) {
      JsonNode v = node.get(field);
      return v != null && !v.isNull();
    }

    String text(String field) {
      JsonNode v = node.get(field);
      if (v == null || v.isNull()) {
        throw error(field, "is missing");
      }
      if (!v.isString()) {
        throw error(field, "should be a string, got " + v.getNodeType());
      }
      return v.stringValue();
    }

    /** The first of several accepted field names that is present. */
    String text(String field, String alternative) {
      return has(field) || !has(alternative) ? text(field) : text(alternative);
    }

    Optional<String> optionalText(String field) {
      return has(field) ? Optional.of(text(field)) : Optional.empty();
    }

    /** A string, or a (nested) list of strings of which the first alias is taken. */
    Optional<String> firstAlias(String field) {
      if (!has(field)) {
        return Optional.empty();
      }
      List<String> aliases = aliases(field, node.get(field));
      return aliases.isEmpty() ? Optional.empty() : Optional.of(aliases.get(0));
    }

    List<String> aliases(String field, JsonNode v) {
      List<String> out = new ArrayList<>();
      flatten(field, v, out);
      return out;
    }

    private void flatten(String field, JsonNode v, List<String> out) {
      if (v.isString()) {
        out.add(v.stringValue());
      } else if (v.isArray()) {
        for (JsonNode item : v.values()) {
          flatten(field, item, out);
        }
      } else if (!v.isNull()) {
        throw error(field, "should be a string or a list of strings, got " + v.getNodeType());
      }
    }

    int integer(String field) {
      JsonNode v = node.get(field);
      if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
        throw error(field, "should be an integer, got " + (v == null ? "nothing" : v.toString()));
      }
      return v.intValue();
    }
  }
}
