package io.nanscope.llama.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece-style BPE tokenizer of Llama 2, read from any of the three files people have:
 * llama2.c {@code tokenizer.bin} ({@link #readLlama2c}), SentencePiece {@code tokenizer.model}
 * ({@link #readSentencePiece}) and Hugging Face {@code tokenizer.json} ({@link #readHfJson}).
 *
 * <p>Encoding (SentencePiece {@code bpe_model.cc}, and llama2.c {@code run.c} {@code encode}):
 *
 * <ol>
 *   <li>normalize: optionally strip leading/trailing and collapse repeated ASCII spaces ({@code
 *       remove_extra_whitespaces}); empty text gives no pieces; prepend one space (the "dummy
 *       prefix", {@code add_dummy_prefix}); write every space as U+2581 {@code ▁};
 *   <li>split into Unicode code points; a code point that is a vocabulary piece is that piece;
 *   <li>repeatedly merge the adjacent pair with the highest priority, leftmost first on ties. The
 *       priority is the score of the merged piece (SentencePiece and llama2.c: the pair may merge
 *       iff the concatenation is a NORMAL piece) or minus the merge rank (HF {@code
 *       tokenizer.json}: iff the pair is listed in {@code merges});
 *   <li>a symbol that is not a piece becomes its UTF-8 bytes as {@code <0xNN>} pieces (byte
 *       fallback), or {@code <unk>} without byte fallback.
 * </ol>
 *
 * <p>Known, deliberate difference from llama2.c {@code run.c}: run.c also merges into non-normal
 * pieces (a literal text {@code "<0x0A>"} can merge into the byte piece 16 there, not here), as
 * SentencePiece does not. Ordinary text gives identical ids.
 */
public final class Tokenizer {

  /** SentencePiece piece types ({@code ModelProto.SentencePiece.Type}). */
  public enum PieceType {
    NORMAL,
    UNKNOWN,
    CONTROL,
    USER_DEFINED,
    UNUSED,
    BYTE
  }

  /** The whitespace symbol SentencePiece writes for a space. */
  public static final String SPACE_SYMBOL = "\u2581";

  /** Normalization flags of SentencePiece's {@code NormalizerSpec} / HF's normalizer. */
  public record Normalization(boolean addDummyPrefix, boolean removeExtraWhitespaces) {}

  /** A possible merge of two adjacent symbols into {@code result}; higher priority merges first. */
  record Merge(int result, float priority) {}

  private final String source;
  private final String[] pieces; // (V) pieces with ▁ for space
  private final float[] scores; // (V)
  private final PieceType[] types; // (V)
  private final Map<String, Integer> normalIds; // pieces that a code point or a merge may become
  private final Map<Long, Merge> merges; // (leftId << 32 | rightId) -> merge
  private final int[] byteIds; // (256) id of <0xNN>, -1 if absent
  private final Normalization normalization;
  private final boolean byteFallback;
  private final int unkId;
  private final int bosId;
  private final int eosId;

  private Tokenizer(
      String source,
      String[] pieces,
      float[] scores,
      PieceType[] types,
      Map<Long, Merge> merges,
      Normalization normalization,
      boolean byteFallback,
      int unkId,
      int bosId,
      int eosId) {
    this.source = source;
    this.pieces = pieces;
    this.scores = scores;
    this.types = types;
    this.normalization = normalization;
    this.byteFallback = byteFallback;
    this.unkId = unkId;
    this.bosId = bosId;
    this.eosId = eosId;
    this.normalIds = new HashMap<>();
    this.byteIds = new int[256];
    Arrays.fill(byteIds, -1);
    for (int id = 0; id < pieces.length; id++) {
      switch (types[id]) {
        case NORMAL, USER_DEFINED, UNUSED -> normalIds.putIfAbsent(pieces[id], id);
        case BYTE -> {
          int b = byteOfPiece(pieces[id]);
          if (b < 0) {
            throw new IllegalArgumentException(
                source + ": piece " + id + " '" + pieces[id] + "' has type BYTE but is not <0xNN>");
          }
          byteIds[b] = id;
        }
        default -> {}
      }
    }
    this.merges = merges != null ? merges : mergesFromScores();
  }

  /**
   * Builds a tokenizer from its vocabulary, merging by score (SentencePiece and llama2.c rule).
   *
   * @param source file name or description, used in error messages
   */
  static Tokenizer byScore(
      String source,
      String[] pieces,
      float[] scores,
      PieceType[] types,
      Normalization normalization,
      boolean byteFallback,
      int unkId,
      int bosId,
      int eosId) {
    return new Tokenizer(
        source, pieces, scores, types, null, normalization, byteFallback, unkId, bosId, eosId);
  }

  /**
   * Builds a tokenizer that merges by rank: {@code mergeRanks[r] = {leftId, rightId, resultId}}.
   */
  static Tokenizer byRank(
      String source,
      String[] pieces,
      float[] scores,
      PieceType[] types,
      List<int[]> mergeRanks,
      Normalization normalization,
      boolean byteFallback,
      int unkId,
      int bosId,
      int eosId) {
    if (mergeRanks.size() > 1 << 24) {
      throw new IllegalArgumentException(
          source + ": " + mergeRanks.size() + " merges; at most 2^24 are supported");
    }
    Map<Long, Merge> m = new HashMap<>(mergeRanks.size() * 2);
    for (int r = 0; r < mergeRanks.size(); r++) {
      int[] lrx = mergeRanks.get(r);
      m.putIfAbsent(pairKey(lrx[0], lrx[1]), new Merge(lrx[2], -r)); // -r is exact below 2^24
    }
    return new Tokenizer(
        source, pieces, scores, types, m, normalization, byteFallback, unkId, bosId, eosId);
  }

  /** Reads a llama2.c {@code tokenizer.bin} (run.c's encoder semantics: no whitespace removal). */
  public static Tokenizer readLlama2c(Path file) throws IOException {
    return Llama2cTokenizerFile.read(file);
  }

  /** Reads a SentencePiece {@code tokenizer.model} (protobuf {@code ModelProto}, BPE only). */
  public static Tokenizer readSentencePiece(Path file) throws IOException {
    return SentencePieceModelFile.read(file);
  }

  /** Reads a Hugging Face {@code tokenizer.json} whose model is BPE (rank-based merges). */
  public static Tokenizer readHfJson(Path file) throws IOException {
    return HfTokenizerJsonFile.read(file);
  }

  /**
   * Reads a tokenizer file, choosing the reader by its name: {@code *.json}, {@code *.model}, else
   * llama2.c.
   */
  public static Tokenizer read(Path file) throws IOException {
    String name = file.getFileName().toString();
    if (name.endsWith(".json")) {
      return readHfJson(file);
    }
    if (name.endsWith(".model")) {
      return readSentencePiece(file);
    }
    return readLlama2c(file);
  }

  /**
   * Reads the tokenizer beside a model: {@code model} is the model's directory or one of its files
   * (a llama2.c {@code .bin}, a {@code .safetensors}), whose directory is searched as {@link
   * #readFromDirectory} does.
   */
  public static Tokenizer besideModel(Path model) throws IOException {
    return readFromDirectory(Files.isDirectory(model) ? model : model.toAbsolutePath().getParent());
  }

  /**
   * Reads the tokenizer of a model directory: the first of {@code tokenizer.model}, {@code
   * tokenizer.json}, {@code tokenizer.bin}, then a llama2.c {@code tok*.bin} (as in {@code
   * models/stories260K}).
   */
  public static Tokenizer readFromDirectory(Path dir) throws IOException {
    for (String name : List.of("tokenizer.model", "tokenizer.json", "tokenizer.bin")) {
      Path p = dir.resolve(name);
      if (Files.isRegularFile(p)) {
        return read(p);
      }
    }
    if (Files.isDirectory(dir)) {
      try (var files = Files.list(dir)) {
        List<Path> toks =
            files.filter(p -> p.getFileName().toString().matches("tok.*\\.bin")).sorted().toList();
        if (toks.size() == 1) {
          return readLlama2c(toks.getFirst());
        }
        if (toks.size() > 1) {
          throw new IllegalArgumentException(
              dir
                  + ": several llama2.c tokenizers "
                  + toks
                  + "; keep one or name it tokenizer.bin");
        }
      }
    }
    throw new IllegalArgumentException(
        dir
            + ": no tokenizer found; expected tokenizer.model, tokenizer.json, tokenizer.bin or"
            + " tok*.bin in this directory");
  }

  /**
   * Writes the Hugging Face tokenizer files of a model directory: {@code tokenizer.json} (same ids
   * as this tokenizer when read back), {@code tokenizer_config.json} and {@code
   * special_tokens_map.json} (LlamaTokenizerFast, BOS added, no EOS).
   */
  public void writeHfFiles(Path dir) throws IOException {
    HfTokenizerJsonFile.write(this, dir.resolve("tokenizer.json"));
    HfTokenizerJsonFile.writeConfigs(this, dir);
  }

  // ---------------------------------------------------------------------------------- encode

  /** Encodes {@code text}; with {@code bos}/{@code eos} adds those ids at the ends. */
  public int[] encode(String text, boolean bos, boolean eos) {
    List<Integer> out = new ArrayList<>();
    if (bos) {
      out.add(requireSpecial(bosId, "BOS"));
    }
    String normalized = normalize(text);
    if (!normalized.isEmpty()) {
      bpe(normalized, out);
    }
    if (eos) {
      out.add(requireSpecial(eosId, "EOS"));
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Applies the normalization: whitespace removal if configured, dummy prefix, space to ▁. */
  String normalize(String text) {
    String t = normalization.removeExtraWhitespaces() ? squeezeSpaces(text) : text;
    if (t.isEmpty()) {
      return t;
    }
    String escaped = t.replace(" ", SPACE_SYMBOL);
    return normalization.addDummyPrefix() ? SPACE_SYMBOL + escaped : escaped;
  }

  /** SentencePiece {@code remove_extra_whitespaces}: only ASCII space counts. */
  private static String squeezeSpaces(String text) {
    StringBuilder sb = new StringBuilder(text.length());
    boolean pendingSpace = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == ' ') {
        pendingSpace = sb.length() > 0;
      } else {
        if (pendingSpace) {
          sb.append(' ');
          pendingSpace = false;
        }
        sb.append(c);
      }
    }
    return sb.toString();
  }

  /** Agenda entry; stale entries (symbols changed since) are skipped when popped. */
  private record Candidate(
      float priority, int left, int right, int leftId, int rightId, int result) {}

  private void bpe(String normalized, List<Integer> out) {
    int[] cps = normalized.codePoints().toArray();
    int n = cps.length;
    int[] id = new int[n]; // -1: code point that is not a piece
    int[] prev = new int[n];
    int[] next = new int[n];
    for (int i = 0; i < n; i++) {
      id[i] = normalIds.getOrDefault(Character.toString(cps[i]), -1);
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    // highest priority first; ties: leftmost (SentencePiece's agenda, llama2.c's strict '>')
    PriorityQueue<Candidate> agenda =
        new PriorityQueue<>((a, b) ->
            a.priority() != b.priority()
                ? Float.compare(b.priority(), a.priority())
                : Integer.compare(a.left(), b.left()));
    for (int i = 0; i + 1 < n; i++) {
      offer(agenda, i, i + 1, id);
    }
    while (!agenda.isEmpty()) {
      Candidate c = agenda.poll();
      if (next[c.left()] != c.right()
          || id[c.left()] != c.leftId()
          || id[c.right()] != c.rightId()
          || id[c.left()] < 0) {
        continue; // stale
      }
      id[c.left()] = c.result();
      int r = next[c.right()];
      next[c.left()] = r;
      if (r >= 0) {
        prev[r] = c.left();
      }
      id[c.right()] = -2; // removed
      next[c.right()] = -1;
      if (prev[c.left()] >= 0) {
        offer(agenda, prev[c.left()], c.left(), id);
      }
      if (r >= 0) {
        offer(agenda, c.left(), r, id);
      }
    }
    for (int i = 0; i >= 0 && i < n; i = next[i]) {
      if (id[i] >= 0) {
        out.add(id[i]);
      } else if (byteFallback) {
        for (byte b : Character.toString(cps[i]).getBytes(StandardCharsets.UTF_8)) {
          int bid = byteIds[b & 0xFF];
          out.add(bid >= 0 ? bid : requireSpecial(unkId, "UNK"));
        }
      } else {
        out.add(requireSpecial(unkId, "UNK"));
      }
    }
  }

  private void offer(PriorityQueue<Candidate> agenda, int left, int right, int[] id) {
    if (id[left] < 0 || id[right] < 0) {
      return;
    }
    Merge m = merges.get(pairKey(id[left], id[right]));
    if (m != null) {
      agenda.add(new Candidate(m.priority(), left, right, id[left], id[right], m.result()));
    }
  }

  private static long pairKey(int left, int right) {
    return ((long) left << 32) | (right & 0xFFFFFFFFL);
  }

  /** Score rule: every split of a normal piece into two normal pieces merges with its score. */
  private Map<Long, Merge> mergesFromScores() {
    Map<Long, Merge> m = new HashMap<>(pieces.length * 4);
    for (int id = 0; id < pieces.length; id++) {
      if (types[id] != PieceType.NORMAL
          && types[id] != PieceType.USER_DEFINED
          && types[id] != PieceType.UNUSED) {
        continue;
      }
      String p = pieces[id];
      if (normalIds.get(p) != id) {
        continue; // a duplicate piece string: the first id wins, as in a lookup table
      }
      for (int cut = p.offsetByCodePoints(0, 1);
          cut < p.length();
          cut = p.offsetByCodePoints(cut, 1)) {
        Integer l = normalIds.get(p.substring(0, cut));
        Integer r = normalIds.get(p.substring(cut));
        if (l != null && r != null) {
          m.put(pairKey(l, r), new Merge(id, scores[id]));
        }
      }
    }
    return m;
  }

  private int requireSpecial(int specialId, String what) {
    if (specialId < 0 || specialId >= pieces.length) {
      throw new IllegalStateException(source + " defines no " + what + " token");
    }
    return specialId;
  }

  // ---------------------------------------------------------------------------------- decode

  /**
   * Decodes ids to text like SentencePiece: control pieces (BOS, EOS) are dropped, byte pieces are
   * joined and read as UTF-8 (malformed bytes become U+FFFD), ▁ becomes a space, and the leading
   * space of the text (the dummy prefix) is removed.
   */
  public String decode(int[] ids) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (int id : ids) {
      checkId(id);
      switch (types[id]) {
        case CONTROL -> {}
        case BYTE -> bytes.write(byteOfPiece(pieces[id]));
        case UNKNOWN -> bytes.writeBytes(" \u2047 ".getBytes(StandardCharsets.UTF_8));
        default ->
            bytes.writeBytes(
                pieces[id].replace(SPACE_SYMBOL, " ").getBytes(StandardCharsets.UTF_8));
      }
    }
    String s = bytes.toString(StandardCharsets.UTF_8);
    return normalization.addDummyPrefix() && s.startsWith(" ") ? s.substring(1) : s;
  }

  /**
   * The bytes llama2.c's {@code decode(prev, token)} returns: the piece with ▁ as space, without
   * its leading space right after BOS; a byte piece {@code <0xNN>} is that one raw byte; BOS and
   * EOS are {@code "\n<s>\n"} and {@code "\n</s>\n"} as in every llama2.c {@code tokenizer.bin}.
   * Print it through {@link #llama2cPrintable} to match run.c's {@code safe_printf}.
   */
  public byte[] llama2cPiece(int prevId, int id) {
    checkId(id);
    String p;
    if (types[id] == PieceType.BYTE) {
      return new byte[] {(byte) byteOfPiece(pieces[id])};
    } else if (id == bosId) {
      p = "\n<s>\n";
    } else if (id == eosId) {
      p = "\n</s>\n";
    } else {
      p = pieces[id].replace(SPACE_SYMBOL, " ");
    }
    if (prevId == bosId && p.startsWith(" ")) {
      p = p.substring(1);
    }
    return p.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * The bytes run.c prints for a token sequence that starts with BOS: for each token after the
   * first, {@link #llama2cPiece}(previous, token) if {@link #llama2cPrintable}. (run.c then prints
   * one final newline, not included here.) Byte-fallback pieces of a multi-byte character print
   * nothing, as in run.c.
   */
  public byte[] llama2cDecode(int[] ids) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 1; i < ids.length; i++) {
      byte[] piece = llama2cPiece(ids[i - 1], ids[i]);
      if (llama2cPrintable(piece)) {
        out.writeBytes(piece);
      }
    }
    return out.toByteArray();
  }

  /**
   * run.c's {@code safe_printf} filter: a one-byte piece is printed only if it is printable or
   * white space in the C locale ({@code isprint || isspace}); longer pieces always are.
   */
  public static boolean llama2cPrintable(byte[] piece) {
    if (piece.length != 1) {
      return piece.length > 0;
    }
    int b = piece[0] & 0xFF;
    return (b >= 0x20 && b <= 0x7E) || (b >= 0x09 && b <= 0x0D);
  }

  private void checkId(int id) {
    if (id < 0 || id >= pieces.length) {
      throw new IllegalArgumentException(
          "token id " + id + " is outside the vocabulary [0, " + pieces.length + ") of " + source);
    }
  }

  /** The byte of a piece {@code <0xNN>} (two upper-case hex digits), or -1. */
  static int byteOfPiece(String piece) {
    if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
      return -1;
    }
    int hi = Character.digit(piece.charAt(3), 16);
    int lo = Character.digit(piece.charAt(4), 16);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }

  // ---------------------------------------------------------------------------------- access

  public int vocabSize() {
    return pieces.length;
  }

  /** The piece of {@code id}, spaces written as ▁ (SentencePiece form). */
  public String piece(int id) {
    checkId(id);
    return pieces[id];
  }

  public float score(int id) {
    checkId(id);
    return scores[id];
  }

  public PieceType type(int id) {
    checkId(id);
    return types[id];
  }

  public int bosId() {
    return bosId;
  }

  public int eosId() {
    return eosId;
  }

  public int unkId() {
    return unkId;
  }

  public boolean byteFallback() {
    return byteFallback;
  }

  public Normalization normalization() {
    return normalization;
  }

  /** Where this tokenizer was read from. */
  public String source() {
    return source;
  }

  /**
   * The pairs this tokenizer may merge, highest priority first: {@code {leftId, rightId,
   * resultId}}.
   */
  public List<int[]> mergesByPriority() {
    List<Map.Entry<Long, Merge>> es = new ArrayList<>(merges.entrySet());
    es.sort((a, b) -> {
      int c = Float.compare(b.getValue().priority(), a.getValue().priority());
      if (c != 0) {
        return c;
      }
      c = Integer.compare(a.getValue().result(), b.getValue().result());
      return c != 0 ? c : Long.compare(a.getKey(), b.getKey());
    });
    List<int[]> out = new ArrayList<>(es.size());
    for (var e : es) {
      out.add(
          new int[] {(int) (e.getKey() >>> 32), (int) (long) e.getKey(), e.getValue().result()});
    }
    return out;
  }
}
