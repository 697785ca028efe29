package io.nanscope.editing.save;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code edit-manifest.json} of a directory written by {@code nanscope edit --save}: what was
 * edited, how, and the sha256 of every tensor the edits changed before and after, so that {@code
 * nanscope revert} can check both the edited directory and the stored originals before it writes
 * anything.
 *
 * @param version {@link #VERSION}
 * @param tool the tool and version that wrote it
 * @param sourceModel the model that was edited, as given
 * @param algorithm EasyEdit's {@code alg_name}
 * @param hparams the hyperparameter file: path, sha256 and its whole text
 * @param precision the policy the edits ran in and the storage format of the saved weights
 * @param edits every edit of the session, in order
 * @param tensors every tensor whose bits differ from the source model's, in file order
 * @param originals the file holding those tensors' original values and its sha256
 */
public record EditManifest(
    int version,
    String tool,
    String sourceModel,
    String algorithm,
    Hparams hparams,
    Precision precision,
    List<Edit> edits,
    List<TensorChange> tensors,
    Originals originals) {

  public static final int VERSION = 1;
  static final String KIND = "nanscope edit manifest";

  /** A manifest is a few KB per edit; anything larger is not one. */
  static final long MAX_BYTES = 64L << 20;

  private static final JsonMapper JSON = JsonMapper.builder().build();

  public EditManifest {
    edits = List.copyOf(edits);
    tensors = List.copyOf(tensors);
  }

  /** The hyperparameter file as it was read. */
  public record Hparams(String file, String sha256, String text) {}

  /**
   * @param policy the precision policy's name
   * @param storage the saved weights' dtype ({@code float32}, {@code float16}, {@code bfloat16})
   */
  public record Precision(String policy, String storage) {}

  /**
   * One edit (one update) of the session.
   *
   * @param written false when the precision fallback refused the update (nothing was written)
   * @param weights the HF names of the weights the update wrote
   */
  public record Edit(int edit, boolean written, List<Request> requests, List<String> weights) {
    public Edit {
      requests = List.copyOf(requests);
      weights = List.copyOf(weights);
    }
  }

  /** The request as edited. */
  public record Request(String subject, String prompt, String targetNew) {}

  /**
   * One changed tensor.
   *
   * @param shape its dims
   * @param sha256Before sha256 of its stored bytes in the source model (as loaded, in {@code
   *     storage}), see {@code TensorDigest}
   * @param sha256After the same after the edits, as saved
   */
  public record TensorChange(
      String name, String dtype, List<Long> shape, String sha256Before, String sha256After) {
    public TensorChange {
      shape = List.copyOf(shape);
    }
  }

  /** The safetensors file with the original values of {@link #tensors}, and its sha256. */
  public record Originals(String file, String sha256) {}

  /** Pretty-printed JSON. */
  public byte[] toJson() {
    ObjectNode o = JSON.createObjectNode();
    o.put("kind", KIND);
    o.put("version", version);
    o.put("tool", tool);
    o.put("source_model", sourceModel);
    o.put("algorithm", algorithm);
    ObjectNode h = o.putObject("hparams");
    h.put("file", hparams.file());
    h.put("sha256", hparams.sha256());
    h.put("text", hparams.text());
    ObjectNode p = o.putObject("precision");
    p.put("policy", precision.policy());
    p.put("storage", precision.storage());
    ArrayNode es = o.putArray("edits");
    for (Edit e : edits) {
      ObjectNode n = es.addObject();
      n.put("edit", e.edit());
      n.put("written", e.written());
      ArrayNode rs = n.putArray("requests");
      for (Request r : e.requests()) {
        rs.addObject()
            .put("subject", r.subject())
            .put("prompt", r.prompt())
            .put("target_new", r.targetNew());
      }
      ArrayNode ws = n.putArray("weights");
      e.weights().forEach(ws::add);
    }
    ArrayNode ts = o.putArray("tensors");
    for (TensorChange t : tensors) {
      ObjectNode n = ts.addObject();
      n.put("name", t.name());
      n.put("dtype", t.dtype());
      ArrayNode shape = n.putArray("shape");
      t.shape().forEach(shape::add);
      n.put("sha256_before", t.sha256Before());
      n.put("sha256_after", t.sha256After());
    }
    ObjectNode or = o.putObject("originals");
    or.put("file", originals.file());
    or.put("sha256", originals.sha256());
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
  }

  /**
   * Reads and checks a manifest: a regular file of at most 64 MB, the right kind and version, every
   * field present with its type, sha256 values as 64 hex digits.
   *
   * @throws IllegalArgumentException (one line) naming the file and what is wrong
   */
  public static EditManifest read(Path file) throws IOException {
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new IllegalArgumentException(
          file
              + " is missing or not a regular file: not a directory written by"
              + " 'nanscope edit --save'");
    }
    if (Files.size(file) > MAX_BYTES) {
      throw bad(file, Files.size(file) + " bytes, more than an edit manifest");
    }
    JsonNode o;
    try {
      o = JSON.readTree(Files.readAllBytes(file));
    } catch (JacksonException e) {
      throw bad(file, "not valid JSON: " + e.getOriginalMessage());
    }
    if (!o.isObject() || !KIND.equals(o.path("kind").asString(""))) {
      throw bad(file, "not an edit manifest (no \"kind\": \"" + KIND + "\")");
    }
    int version = integer(file, o, "version");
    if (version != VERSION) {
      throw bad(file, "version " + version + ", this nanscope reads version " + VERSION);
    }
    JsonNode h = object(file, o, "hparams");
    JsonNode p = object(file, o, "precision");
    List<Edit> edits = new ArrayList<>();
    for (JsonNode n : array(file, o, "edits")) {
      List<Request> requests = new ArrayList<>();
      for (JsonNode r : array(file, n, "requests")) {
        requests.add(
            new Request(
                text(file, r, "subject"), text(file, r, "prompt"), text(file, r, "target_new")));
      }
      List<String> weights = new ArrayList<>();
      for (JsonNode w : array(file, n, "weights")) {
        if (!w.isString()) {
          throw bad(file, "a weight name in \"edits\" is not a string");
        }
        weights.add(w.asString());
      }
      JsonNode written = n.get("written");
      if (written == null || !written.isBoolean()) {
        throw bad(file, "an edit has no boolean \"written\"");
      }
      edits.add(new Edit(integer(file, n, "edit"), written.asBoolean(), requests, weights));
    }
    List<TensorChange> tensors = new ArrayList<>();
    for (JsonNode t : array(file, o, "tensors")) {
      List<Long> shape = new ArrayList<>();
      for (JsonNode d : array(file, t, "shape")) {
        if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 1) {
          throw bad(file, "a tensor shape holds " + d + ", expected positive integers");
        }
        shape.add(d.asLong());
      }
      tensors.add(
          new TensorChange(
              text(file, t, "name"),
              text(file, t, "dtype"),
              shape,
              sha(file, t, "sha256_before"),
              sha(file, t, "sha256_after")));
    }
    JsonNode or = object(file, o, "originals");
    String originalsFile = text(file, or, "file");
    if (!originalsFile.matches("[A-Za-z0-9._-]+") || originalsFile.startsWith(".")) {
      throw bad(file, "\"originals.file\" must be a plain file name in the directory");
    }
    return new EditManifest(
        version,
        text(file, o, "tool"),
        text(file, o, "source_model"),
        text(file, o, "algorithm"),
        new Hparams(text(file, h, "file"), text(file, h, "sha256"), text(file, h, "text")),
        new Precision(text(file, p, "policy"), text(file, p, "storage")),
        edits,
        tensors,
        new Originals(originalsFile, sha(file, or, "sha256")));
  }

  private static IllegalArgumentException bad(Path file, String what) {
    return new IllegalArgumentException(
        file + ": " + what + "; this edit manifest cannot be used to revert");
  }

  private static JsonNode object(Path file, JsonNode o, String field) {
    JsonNode n = o.get(field);
    if (n == null || !n.isObject()) {
      throw bad(file, "\"" + field + "\" is missing or not an object");
    }
    return n;
  }

  private static JsonNode array(Path file, JsonNode o, String field) {
    JsonNode n = o.get(field);
    if (n == null || !n.isArray()) {
      throw bad(file, "\"" + field + "\" is missing or not an array");
    }
    return n;
  }

  private static String text(Path file, JsonNode o, String field) {
    JsonNode n = o.get(field);
    if (n == null || !n.isString()) {
      throw bad(file, "\"" + field + "\" is missing or not a string");
    }
    return n.asString();
  }

  private static int integer(Path file, JsonNode o, String field) {
    JsonNode n = o.get(field);
    if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
      throw bad(file, "\"" + field + "\" is missing or not an integer");
    }
    return n.asInt();
  }

  private static String sha(Path file, JsonNode o, String field) {
    String s = text(file, o, field);
    if (!s.matches("[0-9a-f]{64}")) {
      throw bad(file, "\"" + field + "\" is not a sha256 (64 lower-case hex digits)");
    }
    return s;
  }
}
