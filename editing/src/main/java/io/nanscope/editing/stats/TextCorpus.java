package io.nanscope.editing.stats;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Texts for the second-moment statistics, from a user's file:
 *
 * <ul>
 *   <li>{@code .jsonl}: one JSON object per non-blank line with a string field {@code "text"}
 *       (other fields are ignored);
 *   <li>anything else: plain UTF-8 text, one text per paragraph (paragraphs are separated by one or
 *       more blank lines; line breaks inside a paragraph are kept). The bundled {@code
 *       configs/corpus/tinystories-corpus.txt} is in this form.
 * </ul>
 *
 * @param source the file
 * @param sha256 hex sha256 of the file's bytes, for provenance
 * @param texts the texts in file order
 */
public record TextCorpus(String source, String sha256, List<String> texts) {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  public TextCorpus {
    texts = List.copyOf(texts);
  }

  public static TextCorpus read(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    String text = new String(bytes, StandardCharsets.UTF_8);
    List<String> texts =
        file.getFileName().toString().endsWith(".jsonl") ? jsonl(file, text) : paragraphs(text);
    if (texts.isEmpty()) {
      throw new IllegalArgumentException(file + ": no texts found (empty file?)");
    }
    return new TextCorpus(file.toString(), sha256(bytes), texts);
  }

  /**
   * The first {@code n} texts (EasyEdit's {@code mom2_n_samples}); fails if the corpus is shorter.
   */
  public List<String> first(long n) {
    if (n > texts.size()) {
      throw new IllegalArgumentException(
          source
              + " has "
              + texts.size()
              + " texts but "
              + n
              + " were asked for (mom2_n_samples): lower it or use a larger corpus");
    }
    return texts.subList(0, (int) n);
  }

  static List<String> paragraphs(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : text.split("\\R", -1)) {
      if (line.isBlank()) {
        flush(current, out);
      } else {
        if (!current.isEmpty()) {
          current.append('\n');
        }
        current.append(line);
      }
    }
    flush(current, out);
    return out;
  }

  private static void flush(StringBuilder current, List<String> out) {
    if (!current.isEmpty()) {
      out.add(current.toString().strip());
      current.setLength(0);
    }
  }

  private static List<String> jsonl(Path file, String text) {
    List<String> out = new ArrayList<>();
    String[] lines = text.split("\\R", -1);
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].isBlank()) {
        continue;
      }
      JsonNode node;
      try {
        node = JSON.readTree(lines[i]);
      } catch (JacksonException e) {
        throw new IllegalArgumentException(
            file + " line " + (i + 1) + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
      }
      JsonNode t = node == null ? null : node.get("text");
      if (t == null || !t.isString()) {
        throw new IllegalArgumentException(
            file
                + " line "
                + (i + 1)
                + ": expected an object with a string field \"text\", e.g. {\"text\": \"Once upon a time...\"}");
      }
      out.add(t.stringValue());
    }
    return out;
  }

  /** Hex sha256 of bytes (for provenance records of corpora and models). */
  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK always has SHA-256", e);
    }
  }
}
