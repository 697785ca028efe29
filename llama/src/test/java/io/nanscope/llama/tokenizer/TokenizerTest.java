package io.nanscope.llama.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.llama.TestPaths;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class TokenizerTest {

  static final Path LLAMA2 = TestPaths.llama2Tokenizer();
  static final Path TOK512 = TestPaths.stories260K().resolve("tok512.bin");

  static Tokenizer spm;
  static Tokenizer bin;
  static Tokenizer json;

  @BeforeAll
  static void load() throws IOException {
    spm = Tokenizer.readSentencePiece(LLAMA2.resolve("tokenizer.model"));
    bin = Tokenizer.readLlama2c(LLAMA2.resolve("tokenizer.bin"));
    json = Tokenizer.readHfJson(LLAMA2.resolve("tokenizer.json"));
  }

  record Case(int index, String text, int[] ids) {
    @Override
    public String toString() {
      return "#" + index + " " + text.replace("\n", "\\n").replace("\t", "\\t");
    }
  }

  /**
   * llama.cpp's vectors: each string is followed by "\n__ggml_vocab_test__\n"; one id line each.
   */
  static List<Case> llamaCppCases() throws IOException {
    Path dir = TestPaths.llama2Tokenizer().resolve("test-vectors");
    String inp = Files.readString(dir.resolve("ggml-vocab-llama-spm.gguf.inp"));
    List<String> texts = new ArrayList<>(Arrays.asList(inp.split("\n__ggml_vocab_test__\n", -1)));
    assertThat(texts.getLast()).isEmpty(); // the file ends with a separator
    texts.removeLast();
    List<String> lines =
        new ArrayList<>(
            Arrays.asList(
                Files.readString(dir.resolve("ggml-vocab-llama-spm.gguf.out")).split("\n", -1)));
    if (lines.size() == texts.size() + 1 && lines.getLast().isEmpty()) {
      lines.removeLast();
    }
    // 46 separators, 46 strings, 46 id lines (the brief and PROVENANCE.md say 47: there are 46)
    assertThat(texts).hasSize(46);
    assertThat(lines).hasSize(46);
    List<Case> cases = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      String l = lines.get(i).strip();
      int[] ids =
          l.isEmpty()
              ? new int[0]
              : Arrays.stream(l.split(" ")).mapToInt(Integer::parseInt).toArray();
      cases.add(new Case(i, texts.get(i), ids));
    }
    return cases;
  }

  @ParameterizedTest
  @MethodSource("llamaCppCases")
  void sentencePieceModelPassesLlamaCppVectors(Case c) {
    assertThat(spm.encode(c.text(), false, false)).as(c.toString()).containsExactly(c.ids());
  }

  @ParameterizedTest
  @MethodSource("llamaCppCases")
  void llama2cBinPassesLlamaCppVectors(Case c) {
    assertThat(bin.encode(c.text(), false, false)).as(c.toString()).containsExactly(c.ids());
  }

  @ParameterizedTest
  @MethodSource("llamaCppCases")
  void hfJsonPassesLlamaCppVectors(Case c) {
    assertThat(json.encode(c.text(), false, false)).as(c.toString()).containsExactly(c.ids());
  }

  @ParameterizedTest
  @MethodSource("llamaCppCases")
  void decodeInvertsEncode(Case c) {
    for (Tokenizer t : List.of(spm, bin, json)) {
      assertThat(t.decode(t.encode(c.text(), true, false)))
          .as(c + " via " + t.source())
          .isEqualTo(c.text());
    }
  }

  static Stream<String> extraStrings() {
    return Stream.of(
        "Once upon a time",
        "  two leading spaces and trailing   ",
        "a  b   c    d     e      f       g        h",
        "                                 ", // 33 spaces: the runs of ▁ pieces with score -1e9
        "tab\tand\nnewline\r\nCRLF",
        "\u00a0no-break\u00a0spaces\u00a0\u00a0 ",
        "Ünïcödé façade — “quotes” … 日本語のテキスト 한국어 ελληνικά русский",
        "emoji 🦙🦙 and 👨‍👩‍👧 family, flags 🇫🇷",
        "<s> literal specials </s> <unk> <0x0A>",
        "12345678901234567890 3.14159 1e-10 0xDEADBEEF",
        "def f(x):\n    return x ** 2  # comment\n",
        "\u200b\u200a zero widths \ufeff BOM");
  }

  @ParameterizedTest
  @MethodSource("extraStrings")
  void allThreeFilesGiveIdenticalIds(String s) {
    int[] ref = spm.encode(s, true, false);
    assertThat(bin.encode(s, true, false)).containsExactly(ref);
    assertThat(json.encode(s, true, false)).containsExactly(ref);
    assertThat(spm.decode(ref)).isEqualTo(s);
  }

  @Test
  void allThreeFilesAgreeOnRandomText() {
    SplittableRandom rnd = new SplittableRandom(42);
    String alphabet = " \u00a0\t\nabcdeEXYZ019,.'éü日本🦙ß";
    int[] cps = alphabet.codePoints().toArray();
    for (int trial = 0; trial < 300; trial++) {
      StringBuilder sb = new StringBuilder();
      int len = rnd.nextInt(40);
      for (int i = 0; i < len; i++) {
        sb.appendCodePoint(cps[rnd.nextInt(cps.length)]);
      }
      String s = sb.toString();
      int[] ref = spm.encode(s, false, false);
      assertThat(bin.encode(s, false, false)).as("'%s'", s).containsExactly(ref);
      assertThat(json.encode(s, false, false)).as("'%s'", s).containsExactly(ref);
    }
  }

  @Test
  void threeFilesHaveTheSameVocabulary() {
    assertThat(spm.vocabSize()).isEqualTo(32000);
    for (Tokenizer t : List.of(bin, json)) {
      assertThat(t.vocabSize()).isEqualTo(32000);
      assertThat(t.bosId()).isEqualTo(1);
      assertThat(t.eosId()).isEqualTo(2);
      assertThat(t.unkId()).isZero();
      for (int id = 0; id < 32000; id++) {
        assertThat(t.piece(id)).as("piece %d", id).isEqualTo(spm.piece(id));
        assertThat(t.type(id)).as("type %d", id).isEqualTo(spm.type(id));
      }
    }
    for (int id = 0; id < 32000; id++) {
      assertThat(bin.score(id)).isEqualTo(spm.score(id));
    }
    assertThat(spm.normalization()).isEqualTo(new Tokenizer.Normalization(true, false));
    assertThat(spm.byteFallback()).isTrue();
  }

  // ------------------------------------------------------------------ tok512 vs llama2.c run.c

  /**
   * An independent, deliberately naive transcription of run.c's {@code encode}: raw byte pieces
   * from the file, lookup over every piece (control and byte ones included), code points read from
   * UTF-8, byte fallback id = byte + 3, and each round merge the best-scoring pair (strict {@code
   * >}, so leftmost on ties) until none is left.
   */
  static int[] runCEncode(Path tokenizerBin, String text, boolean bos, boolean eos)
      throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(tokenizerBin)).order(ByteOrder.LITTLE_ENDIAN);
    b.getInt();
    List<String> vocab = new ArrayList<>();
    List<Float> scores = new ArrayList<>();
    while (b.hasRemaining()) {
      scores.add(b.getFloat());
      byte[] s = new byte[b.getInt()];
      b.get(s);
      vocab.add(new String(s, StandardCharsets.ISO_8859_1)); // byte-exact keys
    }
    Map<String, Integer> lookup = new HashMap<>();
    for (int i = vocab.size() - 1; i >= 0; i--) {
      lookup.put(vocab.get(i), i);
    }
    List<Integer> tokens = new ArrayList<>();
    if (bos) {
      tokens.add(1);
    }
    byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
    if (utf8.length > 0) {
      tokens.add(lookup.get(" "));
    }
    int i = 0;
    while (i < utf8.length) {
      int j = i + 1;
      while (j < utf8.length && (utf8[j] & 0xC0) == 0x80 && j - i < 4) {
        j++;
      }
      String cp = new String(utf8, i, j - i, StandardCharsets.ISO_8859_1);
      Integer id = lookup.get(cp);
      if (id != null) {
        tokens.add(id);
      } else {
        for (int k = i; k < j; k++) {
          tokens.add((utf8[k] & 0xFF) + 3);
        }
      }
      i = j;
    }
    while (true) {
      float best = -1e10f;
      int bestIdx = -1;
      int bestId = -1;
      for (int k = 0; k + 1 < tokens.size(); k++) {
        Integer id = lookup.get(vocab.get(tokens.get(k)) + vocab.get(tokens.get(k + 1)));
        if (id != null && scores.get(id) > best) {
          best = scores.get(id);
          bestIdx = k;
          bestId = id;
        }
      }
      if (bestIdx < 0) {
        break;
      }
      tokens.set(bestIdx, bestId);
      tokens.remove(bestIdx + 1);
    }
    if (eos) {
      tokens.add(2);
    }
    return tokens.stream().mapToInt(Integer::intValue).toArray();
  }

  static Stream<String> prompts() {
    return Stream.concat(
        extraStrings()
            .filter(s -> !s.contains("<0x")), // run.c merges literal "<0x0A>" into a byte piece
        Stream.of(
            "",
            " ",
            "Once upon a time",
            "Lily and Tom went to the park. They saw a big dog!",
            "  Once",
            "Once  upon",
            "The end.\n\nOnce upon a time, there was a little girl named Lily."));
  }

  @ParameterizedTest
  @MethodSource("prompts")
  void tok512EncodesLikeRunC(String prompt) throws IOException {
    Tokenizer tok512 = Tokenizer.readLlama2c(TOK512);
    assertThat(tok512.encode(prompt, true, false))
        .containsExactly(runCEncode(TOK512, prompt, true, false));
    assertThat(tok512.encode(prompt, true, true))
        .containsExactly(runCEncode(TOK512, prompt, true, true));
  }

  @ParameterizedTest
  @MethodSource("prompts")
  void llama2BinEncodesLikeRunC(String prompt) throws IOException {
    Path p = LLAMA2.resolve("tokenizer.bin");
    assertThat(bin.encode(prompt, true, false)).containsExactly(runCEncode(p, prompt, true, false));
  }

  @Test
  void tok512KnownPieces() throws IOException {
    Tokenizer tok512 = Tokenizer.readLlama2c(TOK512);
    assertThat(tok512.vocabSize()).isEqualTo(512);
    assertThat(tok512.piece(259)).isEqualTo("▁t");
    assertThat(tok512.score(259)).isEqualTo(0f);
    assertThat(tok512.score(511)).isEqualTo(-252f);
    assertThat(tok512.piece(3)).isEqualTo("<0x00>");
    assertThat(tok512.type(3)).isEqualTo(Tokenizer.PieceType.BYTE);
    int[] ids = tok512.encode("Once upon a time", true, false);
    assertThat(ids[0]).isEqualTo(1);
    assertThat(tok512.decode(ids)).isEqualTo("Once upon a time");
  }

  @Test
  void tok512ModelAgreesWithBinExceptOnWhitespace() throws IOException {
    Tokenizer b = Tokenizer.readLlama2c(TOK512);
    Tokenizer m = Tokenizer.readSentencePiece(TestPaths.stories260K().resolve("tok512.model"));
    assertThat(m.normalization().removeExtraWhitespaces()).isTrue();
    for (int id = 0; id < 512; id++) {
      assertThat(m.piece(id)).isEqualTo(b.piece(id));
      assertThat(m.score(id)).isEqualTo(b.score(id));
    }
    assertThat(m.encode("Once upon a time", true, false))
        .containsExactly(b.encode("Once upon a time", true, false));
    // SentencePiece's default normalizer squeezes spaces; run.c does not
    assertThat(m.encode("Once  upon", true, false))
        .containsExactly(b.encode("Once upon", true, false));
    assertThat(b.encode("Once  upon", true, false))
        .isNotEqualTo(b.encode("Once upon", true, false));
  }

  // ------------------------------------------------------------------ decode quirks

  @Test
  void llama2cPieceStripsSpaceAfterBosAndDecodesBytes() throws IOException {
    Tokenizer tok512 = Tokenizer.readLlama2c(TOK512);
    int once = tok512.encode("Once", false, false)[0];
    assertThat(tok512.piece(once)).startsWith("▁");
    assertThat(new String(tok512.llama2cPiece(1, once), StandardCharsets.UTF_8))
        .isEqualTo(tok512.piece(once).substring(1));
    assertThat(new String(tok512.llama2cPiece(5, once), StandardCharsets.UTF_8)).startsWith(" ");
    assertThat(tok512.llama2cPiece(7, 3 + 0x0A)).containsExactly(0x0A);
    assertThat(tok512.llama2cPiece(7, 3 + 0xE2)).containsExactly(0xE2);
    assertThat(new String(tok512.llama2cPiece(7, 2), StandardCharsets.UTF_8)).isEqualTo("\n</s>\n");
    assertThat(Tokenizer.llama2cPrintable(new byte[] {0x0A})).isTrue();
    assertThat(Tokenizer.llama2cPrintable(new byte[] {'a'})).isTrue();
    assertThat(Tokenizer.llama2cPrintable(new byte[] {(byte) 0xE2})).isFalse();
    assertThat(Tokenizer.llama2cPrintable(new byte[] {0x07})).isFalse();
    assertThat(Tokenizer.llama2cPrintable("é".getBytes(StandardCharsets.UTF_8))).isTrue();
  }

  /**
   * run.c prints the prompt before the generated text, so each golden output of {@code
   * src/test/resources/golden} (made by a C reference of run.c) starts with the printed prompt:
   * encoding with tok512 and decoding with run.c's quirks must give that prefix, including the
   * dropped byte-fallback bytes of "Émile" and 🐶 and the kept spaces of " two spaces".
   */
  @Test
  void llama2cDecodeOfThePromptPrefixesEveryGoldenOutput() throws IOException {
    Tokenizer tok512 = Tokenizer.readLlama2c(TOK512);
    Path golden = TestPaths.repoRoot().resolve("llama/src/test/resources/golden");
    int checked = 0;
    for (String line : Files.readAllLines(golden.resolve("manifest.tsv"))) {
      if (line.startsWith("#") || line.isBlank()) {
        continue;
      }
      String[] f = line.split("\t", -1);
      byte[] out = Files.readAllBytes(golden.resolve(f[0]));
      byte[] prompt = tok512.llama2cDecode(tok512.encode(f[2], true, false));
      assertThat(Arrays.copyOf(out, Math.min(out.length, prompt.length)))
          .as(f[0])
          .containsExactly(prompt);
      checked++;
    }
    assertThat(checked).isEqualTo(9);
    assertThat(
            new String(
                tok512.llama2cDecode(tok512.encode("Émile saw a café 🐶", true, false)),
                StandardCharsets.UTF_8))
        .isEqualTo("mile saw a café ");
  }

  @Test
  void decodeDropsControlAndJoinsBytes() {
    int[] ids = spm.encode("🦙 x", true, true);
    assertThat(ids[0]).isEqualTo(1);
    assertThat(ids[ids.length - 1]).isEqualTo(2);
    assertThat(spm.decode(ids)).isEqualTo("🦙 x");
    assertThat(spm.decode(new int[] {3 + 0xE2})).isEqualTo("\ufffd"); // lone byte of a 3-byte char
    assertThatThrownBy(() -> spm.decode(new int[] {32000}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("outside the vocabulary");
  }

  // ------------------------------------------------------------------ HF writer

  @Test
  void besideModelSearchesTheModelsDirectoryOrTheDirectoryOfAModelFile(@TempDir Path dir)
      throws IOException {
    Path model = TestPaths.stories260K();
    String text = "Once upon a time, there was a little girl named Lily.";
    int[] want = Tokenizer.readFromDirectory(model).encode(text, true, false);
    assertThat(Tokenizer.besideModel(model).encode(text, true, false)).isEqualTo(want);
    assertThat(Tokenizer.besideModel(model.resolve("stories260K.bin")).encode(text, true, false))
        .isEqualTo(want);
    // A model file in a directory without a tokenizer: the directory's error, not the file's.
    Path lone = Files.writeString(dir.resolve("model.bin"), "not read");
    assertThatThrownBy(() -> Tokenizer.besideModel(lone))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no tokenizer found");
  }

  @Test
  void writtenTokenizerJsonGivesTheSameIds(@TempDir Path dir) throws IOException {
    for (Tokenizer source : List.of(Tokenizer.readLlama2c(TOK512), spm)) {
      source.writeHfFiles(dir);
      Tokenizer back = Tokenizer.readHfJson(dir.resolve("tokenizer.json"));
      assertThat(back.vocabSize()).isEqualTo(source.vocabSize());
      prompts()
          .forEach(p ->
              assertThat(back.encode(p, true, false))
                  .as(p)
                  .containsExactly(source.encode(p, true, false)));
      assertThat(dir.resolve("tokenizer_config.json")).exists();
      assertThat(dir.resolve("special_tokens_map.json"))
          .content()
          .contains("\"bos_token\" : \"<s>\"");
    }
  }

  /** Newer transformers write a Metaspace pre-tokenizer instead of Prepend+Replace: same ids. */
  @Test
  void metaspaceFormOfTokenizerJsonGivesTheSameIds(@TempDir Path dir) throws IOException {
    var mapper = tools.jackson.databind.json.JsonMapper.builder().build();
    var root =
        (tools.jackson.databind.node.ObjectNode)
            mapper.readTree(LLAMA2.resolve("tokenizer.json").toFile());
    root.putNull("normalizer");
    var meta = root.putObject("pre_tokenizer");
    meta.put("type", "Metaspace")
        .put("replacement", "▁")
        .put("prepend_scheme", "first")
        .put("split", false);
    Path f = Files.write(dir.resolve("tokenizer.json"), mapper.writeValueAsBytes(root));
    Tokenizer t = Tokenizer.readHfJson(f);
    for (Case c : llamaCppCases()) {
      assertThat(t.encode(c.text(), false, false)).as(c.toString()).containsExactly(c.ids());
    }
    meta.put("split", true);
    Files.write(f, mapper.writeValueAsBytes(root));
    assertThatThrownBy(() -> Tokenizer.readHfJson(f)).hasMessageContaining("split=true");
  }

  @Test
  void readFromDirectoryFindsTok512() throws IOException {
    Tokenizer t = Tokenizer.readFromDirectory(TestPaths.stories260K());
    assertThat(t.vocabSize()).isEqualTo(512);
    assertThat(t.normalization().removeExtraWhitespaces()).isFalse();
    assertThatThrownBy(() -> Tokenizer.readFromDirectory(TestPaths.repoRoot().resolve("llama")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no tokenizer found");
  }

  // ------------------------------------------------------------------ bad files

  @ParameterizedTest
  @ValueSource(strings = {"tokenizer.bin", "tokenizer.model", "tokenizer.json"})
  void emptyFileIsRefused(String name, @TempDir Path dir) throws IOException {
    Path f = Files.write(dir.resolve(name), new byte[0]);
    assertThatThrownBy(() -> Tokenizer.read(f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(f.toString())
        .hasMessageContaining("not a");
  }

  @ParameterizedTest
  @ValueSource(strings = {"tokenizer.bin", "tokenizer.model", "tokenizer.json"})
  void truncatedFileIsRefused(String name, @TempDir Path dir) throws IOException {
    byte[] all = Files.readAllBytes(LLAMA2.resolve(name));
    Path f = Files.write(dir.resolve(name), Arrays.copyOf(all, all.length - 3));
    assertThatThrownBy(() -> Tokenizer.read(f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(f.toString())
        .hasMessageContaining("not a");
  }

  @ParameterizedTest
  @ValueSource(strings = {"tokenizer.bin", "tokenizer.model", "tokenizer.json"})
  void weightsFileIsNotATokenizer(String name, @TempDir Path dir) throws IOException {
    Path f = Files.copy(TestPaths.stories260K().resolve("stories260K.bin"), dir.resolve(name));
    assertThatThrownBy(() -> Tokenizer.read(f))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(f.toString());
  }

  @Test
  void binWithAbsurdPieceLengthIsRefused(@TempDir Path dir) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4 + 8).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(7).putFloat(0f).putInt(1_000_000);
    Path f = Files.write(dir.resolve("tok.bin"), b.array());
    assertThatThrownBy(() -> Tokenizer.readLlama2c(f))
        .hasMessageContaining("length 1000000, expected 0..7");
  }

  @Test
  void unigramModelIsRefusedWithReason(@TempDir Path dir) throws IOException {
    // ModelProto { pieces { piece: "a" } trainer_spec { model_type: 1 } }
    byte[] proto = {0x0A, 0x03, 0x0A, 0x01, 'a', 0x12, 0x02, 0x18, 0x01};
    Path f = Files.write(dir.resolve("u.model"), proto);
    assertThatThrownBy(() -> Tokenizer.readSentencePiece(f))
        .hasMessageContaining("model_type 1 is not supported");
  }
}
