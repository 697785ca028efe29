package io.nanscope.llama.tokenizer;

import io.nanscope.llama.tokenizer.Tokenizer.Normalization;
import io.nanscope.llama.tokenizer.Tokenizer.PieceType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * llama2.c {@code tokenizer.bin}: int32 max_token_length, then per token: float32 score, int32 byte
 * length, UTF-8 bytes (all little-endian; a space is stored as ' ', not ▁). The vocabulary size is
 * not stored: tokens run to the end of the file. Types are not stored either: id 0 is {@code
 * <unk>}, ids 1 and 2 are BOS and EOS (written {@code "\n<s>\n"}, {@code "\n</s>\n"} by llama2.c's
 * exporter), {@code <0xNN>} pieces are bytes, the rest normal. run.c always adds the dummy prefix
 * and never removes spaces.
 */
final class Llama2cTokenizerFile {

  /** No real vocabulary has longer pieces; a larger value means this is not a tokenizer.bin. */
  static final int MAX_PIECE_BYTES = 1024;

  private Llama2cTokenizerFile() {}

  static Tokenizer read(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
    ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    if (all.length < 4) {
      throw bad(
          file,
          "the file is " + all.length + " bytes, too short for the int32 max_token_length header");
    }
    int maxLen = b.getInt();
    if (maxLen <= 0 || maxLen > MAX_PIECE_BYTES) {
      throw bad(file, "max_token_length is " + maxLen + ", expected 1.." + MAX_PIECE_BYTES);
    }
    List<String> pieces = new ArrayList<>();
    List<Float> scores = new ArrayList<>();
    var decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    while (b.hasRemaining()) {
      int id = pieces.size();
      if (b.remaining() < 8) {
        throw bad(
            file,
            "the file is truncated in the header of token " + id + " at byte " + b.position());
      }
      float score = b.getFloat();
      int len = b.getInt();
      if (!Float.isFinite(score)) {
        throw bad(file, "token " + id + " has score " + score + ", expected a finite float");
      }
      if (len < 0 || len > maxLen) {
        throw bad(
            file,
            "token "
                + id
                + " has length "
                + len
                + ", expected 0.."
                + maxLen
                + " (max_token_length)");
      }
      if (b.remaining() < len) {
        throw bad(
            file,
            "the file is truncated inside token "
                + id
                + " (needs "
                + len
                + " bytes, "
                + b.remaining()
                + " left)");
      }
      ByteBuffer slice = b.slice(b.position(), len);
      b.position(b.position() + len);
      try {
        pieces.add(decoder.decode(slice).toString());
      } catch (CharacterCodingException e) {
        throw bad(file, "token " + id + " is not valid UTF-8");
      }
      scores.add(score);
    }
    int n = pieces.size();
    if (n < 3) {
      throw bad(file, "the file holds " + n + " tokens, expected at least <unk>, BOS and EOS");
    }
    String[] p = new String[n];
    float[] s = new float[n];
    PieceType[] t = new PieceType[n];
    for (int id = 0; id < n; id++) {
      s[id] = scores.get(id);
      String piece = pieces.get(id);
      if (id == 0) {
        t[id] = PieceType.UNKNOWN;
        p[id] = piece;
      } else if (id == 1 || id == 2) {
        t[id] = PieceType.CONTROL;
        p[id] = piece.strip(); // "\n<s>\n" -> "<s>"
      } else if (Tokenizer.byteOfPiece(piece) >= 0) {
        t[id] = PieceType.BYTE;
        p[id] = piece;
      } else {
        t[id] = PieceType.NORMAL;
        p[id] = piece.replace(" ", Tokenizer.SPACE_SYMBOL);
      }
    }
    return Tokenizer.byScore(
        file.toString(), p, s, t, new Normalization(true, false), true, 0, 1, 2);
  }

  static IllegalArgumentException bad(Path file, String what) {
    return new IllegalArgumentException(file + ": not a llama2.c tokenizer.bin: " + what);
  }
}
