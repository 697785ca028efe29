package io.nanscope.llama.tokenizer;

import io.nanscope.engine.io.AtomicFile;
import io.nanscope.llama.tokenizer.Tokenizer.Normalization;
import io.nanscope.llama.tokenizer.Tokenizer.PieceType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Hugging Face {@code tokenizer.json} with a BPE model (the LlamaTokenizerFast layout): {@code
 * model.vocab} (piece to id), {@code model.merges} (rank order; {@code "a b"} or {@code
 * ["a","b"]}), {@code model.byte_fallback}, {@code added_tokens} (special ones become CONTROL), and
 * either the normalizer {@code Prepend("▁") + Replace(" ", "▁")} or a {@code Metaspace}
 * pre-tokenizer. BOS and EOS are the pieces {@code <s>} and {@code </s>}. There are no scores in
 * this format: a merged piece's {@link Tokenizer#score} is minus the rank of the first merge that
 * makes it, others 0.
 */
final class HfTokenizerJsonFile {

  private static final ObjectMapper JSON = JsonMapper.builder().build();

  private HfTokenizerJsonFile() {}

  static Tokenizer read(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
    JsonNode root;
    try {
      root = JSON.readTree(all);
    } catch (JacksonException e) {
      throw bad(file, "it is not valid JSON (" + e.getOriginalMessage() + ")");
    }
    if (root == null || !root.isObject()) {
      throw bad(file, "the top level is not a JSON object");
    }
    JsonNode model = root.path("model");
    if (!model.isObject()) {
      throw bad(file, "it has no \"model\" object");
    }
    if (!"BPE".equals(model.path("type").asString(""))) {
      throw bad(file, "model.type is '" + model.path("type").asString("") + "', expected 'BPE'");
    }
    JsonNode vocab = model.path("vocab");
    if (!vocab.isObject() || vocab.isEmpty()) {
      throw bad(file, "model.vocab is missing or empty");
    }
    int n = vocab.size();
    String[] pieces = new String[n];
    for (var e : vocab.properties()) {
      int id = e.getValue().asInt(-1);
      if (!e.getValue().isIntegralNumber() || id < 0 || id >= n || pieces[id] != null) {
        throw bad(
            file,
            "model.vocab maps '"
                + e.getKey()
                + "' to "
                + e.getValue()
                + "; expected distinct ids 0.."
                + (n - 1));
      }
      pieces[id] = e.getKey();
    }
    Map<String, Integer> ids = new HashMap<>(n * 2);
    for (int id = 0; id < n; id++) {
      ids.put(pieces[id], id);
    }
    boolean byteFallback = model.path("byte_fallback").asBoolean(false);
    PieceType[] types = new PieceType[n];
    Arrays.fill(types, PieceType.NORMAL);
    for (int id = 0; id < n; id++) {
      if (byteFallback && Tokenizer.byteOfPiece(pieces[id]) >= 0) {
        types[id] = PieceType.BYTE;
      }
    }
    for (JsonNode t : root.path("added_tokens")) {
      int id = t.path("id").asInt(-1);
      if (id >= 0 && id < n && t.path("special").asBoolean(false)) {
        types[id] = PieceType.CONTROL;
      }
    }
    String unk = model.path("unk_token").asString(null);
    int unkId = unk == null ? -1 : ids.getOrDefault(unk, -1);
    if (unkId >= 0) {
      types[unkId] = PieceType.UNKNOWN;
    }
    List<int[]> merges = new ArrayList<>();
    float[] scores = new float[n];
    boolean[] scored = new boolean[n];
    int rank = 0;
    for (JsonNode m : model.path("merges")) {
      String left;
      String right;
      if (m.isArray() && m.size() == 2) {
        left = m.get(0).asString();
        right = m.get(1).asString();
      } else if (m.isString() && m.asString().indexOf(' ') > 0) {
        String s = m.asString();
        int cut = s.indexOf(' ');
        left = s.substring(0, cut);
        right = s.substring(cut + 1);
      } else {
        throw bad(
            file,
            "model.merges[" + rank + "] is " + m + ", expected \"left right\" or [left, right]");
      }
      Integer l = ids.get(left);
      Integer r = ids.get(right);
      Integer x = ids.get(left + right);
      if (l == null || r == null || x == null) {
        throw bad(
            file,
            "model.merges["
                + rank
                + "] ("
                + left
                + " + "
                + right
                + ") uses or makes a piece that is not in model.vocab");
      }
      merges.add(new int[] {l, r, x});
      if (!scored[x]) {
        scored[x] = true;
        scores[x] = -rank;
      }
      rank++;
    }
    Normalization norm = normalization(file, root);
    return Tokenizer.byRank(
        file.toString(),
        pieces,
        scores,
        types,
        merges,
        norm,
        byteFallback,
        unkId,
        ids.getOrDefault("<s>", -1),
        ids.getOrDefault("</s>", -1));
  }

  /** Prepend("▁") + Replace(" ", "▁") normalizer, or a Metaspace pre-tokenizer. */
  private static Normalization normalization(Path file, JsonNode root) {
    List<JsonNode> steps = new ArrayList<>();
    flatten(root.path("normalizer"), "normalizers", steps);
    flatten(root.path("pre_tokenizer"), "pretokenizers", steps);
    boolean prepend = false;
    boolean escapes = false;
    for (JsonNode s : steps) {
      switch (s.path("type").asString("")) {
        case "Prepend" -> prepend |= Tokenizer.SPACE_SYMBOL.equals(s.path("prepend").asString(""));
        case "Replace" ->
            escapes |=
                " ".equals(s.path("pattern").path("String").asString(""))
                    && Tokenizer.SPACE_SYMBOL.equals(s.path("content").asString(""));
        case "Metaspace" -> {
          if (s.path("split").asBoolean(false)) {
            throw bad(
                file,
                "Metaspace with split=true (BPE per word) is not supported; Llama's"
                    + " SentencePiece-converted tokenizers use split=false");
          }
          escapes = true;
          String scheme = s.path("prepend_scheme").asString("");
          prepend |=
              scheme.equals("always")
                  || scheme.equals("first")
                  || s.path("add_prefix_space").asBoolean(false);
        }
        default ->
            throw bad(
                file,
                "normalizer/pre-tokenizer step '"
                    + s.path("type").asString("")
                    + "' is not supported; expected Prepend(▁), Replace(' ' -> ▁) or Metaspace");
      }
    }
    if (!escapes) {
      throw bad(
          file,
          "no normalizer writes spaces as ▁; expected Replace(' ' -> ▁) or Metaspace"
              + " as in Llama's tokenizer.json");
    }
    return new Normalization(prepend, false);
  }

  private static void flatten(JsonNode node, String listName, List<JsonNode> out) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return;
    }
    if ("Sequence".equals(node.path("type").asString(""))) {
      for (JsonNode c : node.path(listName)) {
        flatten(c, listName, out);
      }
    } else {
      out.add(node);
    }
  }

  /**
   * Writes {@code tok} as a Llama-style {@code tokenizer.json}: vocab, merges in priority order,
   * the Prepend/Replace normalizer (or only Replace without a dummy prefix), ByteFallback decoder
   * and a post-processor that adds BOS. Tokenizers read back from it give the same ids.
   */
  static void write(Tokenizer tok, Path file) throws IOException {
    if (tok.normalization().removeExtraWhitespaces()) {
      throw new IllegalArgumentException(
          tok.source()
              + " removes extra whitespace, which tokenizer.json (Llama layout) cannot express");
    }
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    for (int id = 0; id < tok.vocabSize(); id++) {
      PieceType t = tok.type(id);
      if (t == PieceType.CONTROL || t == PieceType.UNKNOWN) {
        ObjectNode a = added.addObject();
        a.put("id", id);
        a.put("content", tok.piece(id));
        a.put("single_word", false);
        a.put("lstrip", false);
        a.put("rstrip", false);
        a.put("normalized", true);
        a.put("special", true);
      }
    }
    ObjectNode normalizer = root.putObject("normalizer");
    normalizer.put("type", "Sequence");
    ArrayNode ns = normalizer.putArray("normalizers");
    if (tok.normalization().addDummyPrefix()) {
      ns.addObject().put("type", "Prepend").put("prepend", Tokenizer.SPACE_SYMBOL);
    }
    ObjectNode replace = ns.addObject().put("type", "Replace");
    replace.putObject("pattern").put("String", " ");
    replace.put("content", Tokenizer.SPACE_SYMBOL);
    root.putNull("pre_tokenizer");
    ObjectNode post = root.putObject("post_processor");
    post.put("type", "TemplateProcessing");
    ArrayNode single = post.putArray("single");
    if (tok.bosId() >= 0) {
      single
          .addObject()
          .putObject("SpecialToken")
          .put("id", tok.piece(tok.bosId()))
          .put("type_id", 0);
    }
    single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
    ArrayNode pair = post.putArray("pair");
    if (tok.bosId() >= 0) {
      pair.addObject()
          .putObject("SpecialToken")
          .put("id", tok.piece(tok.bosId()))
          .put("type_id", 0);
    }
    pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
    if (tok.bosId() >= 0) {
      pair.addObject()
          .putObject("SpecialToken")
          .put("id", tok.piece(tok.bosId()))
          .put("type_id", 1);
    }
    pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
    ObjectNode special = post.putObject("special_tokens");
    if (tok.bosId() >= 0) {
      String bos = tok.piece(tok.bosId());
      ObjectNode b = special.putObject(bos);
      b.put("id", bos);
      b.putArray("ids").add(tok.bosId());
      b.putArray("tokens").add(bos);
    }
    ObjectNode decoder = root.putObject("decoder");
    decoder.put("type", "Sequence");
    ArrayNode ds = decoder.putArray("decoders");
    ObjectNode dr = ds.addObject().put("type", "Replace");
    dr.putObject("pattern").put("String", Tokenizer.SPACE_SYMBOL);
    dr.put("content", " ");
    ds.addObject().put("type", "ByteFallback");
    ds.addObject().put("type", "Fuse");
    if (tok.normalization().addDummyPrefix()) {
      ds.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
    }
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    if (tok.unkId() >= 0) {
      model.put("unk_token", tok.piece(tok.unkId()));
    } else {
      model.putNull("unk_token");
    }
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", true);
    model.put("byte_fallback", tok.byteFallback());
    ObjectNode vocab = model.putObject("vocab");
    for (int id = 0; id < tok.vocabSize(); id++) {
      vocab.put(tok.piece(id), id);
    }
    ArrayNode merges = model.putArray("merges");
    for (int[] m : tok.mergesByPriority()) {
      merges.add(tok.piece(m[0]) + " " + tok.piece(m[1]));
    }
    AtomicFile.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
  }

  /** {@code tokenizer_config.json} and {@code special_tokens_map.json} for LlamaTokenizerFast. */
  static void writeConfigs(Tokenizer tok, Path dir) throws IOException {
    ObjectNode special = JSON.createObjectNode();
    ObjectNode config = JSON.createObjectNode();
    config.put("tokenizer_class", "LlamaTokenizerFast");
    config.put("add_bos_token", tok.bosId() >= 0);
    config.put("add_eos_token", false);
    config.put("legacy", true);
    config.put("clean_up_tokenization_spaces", false);
    config.put("model_max_length", 1_000_000_000L);
    String[][] roles = {{"bos_token", "bos"}, {"eos_token", "eos"}, {"unk_token", "unk"}};
    int[] ids = {tok.bosId(), tok.eosId(), tok.unkId()};
    for (int i = 0; i < roles.length; i++) {
      if (ids[i] >= 0) {
        special.put(roles[i][0], tok.piece(ids[i]));
        config.put(roles[i][0], tok.piece(ids[i]));
      }
    }
    config.putNull("pad_token");
    AtomicFile.write(
        dir.resolve("tokenizer_config.json"),
        JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
    AtomicFile.write(
        dir.resolve("special_tokens_map.json"),
        JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(special));
  }

  private static IllegalArgumentException bad(Path file, String what) {
    return new IllegalArgumentException(file + ": not a BPE tokenizer.json: " + what);
  }
}
