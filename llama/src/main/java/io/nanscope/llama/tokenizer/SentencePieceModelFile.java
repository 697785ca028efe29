package io.nanscope.llama.tokenizer;

import io.nanscope.llama.tokenizer.Tokenizer.Normalization;
import io.nanscope.llama.tokenizer.Tokenizer.PieceType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * SentencePiece {@code tokenizer.model}: a protobuf {@code ModelProto} read with a minimal
 * hand-written wire-format reader. Fields used (sentencepiece_model.proto):
 *
 * <pre>
 * ModelProto      1: repeated SentencePiece pieces   2: TrainerSpec   3: NormalizerSpec
 * SentencePiece   1: string piece   2: float score   3: Type (1 NORMAL .. 6 BYTE, default NORMAL)
 * TrainerSpec     3: model_type (2 = BPE)   35: byte_fallback (default false)
 *                 40: unk_id (0)   41: bos_id (1)   42: eos_id (2)
 * NormalizerSpec  1: name   3: add_dummy_prefix (default true)   4: remove_extra_whitespaces (true)
 * </pre>
 *
 * Only the {@code identity} normalizer is supported (Llama's): {@code nmt_nfkc} needs
 * SentencePiece's compiled character map and is refused with a message.
 */
final class SentencePieceModelFile {

  private static final int BPE = 2;

  private SentencePieceModelFile() {}

  static Tokenizer read(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
    if (all.length == 0) {
      throw bad(file, "the file is empty");
    }
    List<String> pieces = new ArrayList<>();
    List<Float> scores = new ArrayList<>();
    List<PieceType> types = new ArrayList<>();
    int modelType = 1; // UNIGRAM is the proto default
    boolean byteFallback = false;
    int unkId = 0;
    int bosId = 1;
    int eosId = 2;
    boolean addDummyPrefix = true;
    boolean removeExtraWhitespaces = true;
    String normalizerName = "identity";
    try {
      Wire top = new Wire(ByteBuffer.wrap(all));
      while (top.hasMore()) {
        int field = top.tag();
        switch (field) {
          case 1 -> {
            Wire p = top.message();
            String piece = null;
            float score = 0f;
            int type = 1;
            while (p.hasMore()) {
              switch (p.tag()) {
                case 1 -> piece = p.string();
                case 2 -> score = p.fixed32Float();
                case 3 -> type = (int) p.varint();
                default -> p.skip();
              }
            }
            if (piece == null) {
              throw bad(file, "piece " + pieces.size() + " has no text");
            }
            if (type < 1 || type > 6) {
              throw bad(file, "piece " + pieces.size() + " has type " + type + ", expected 1..6");
            }
            pieces.add(piece);
            scores.add(score);
            types.add(PieceType.values()[type - 1]);
          }
          case 2 -> {
            Wire t = top.message();
            while (t.hasMore()) {
              switch (t.tag()) {
                case 3 -> modelType = (int) t.varint();
                case 35 -> byteFallback = t.varint() != 0;
                case 40 -> unkId = (int) t.varint();
                case 41 -> bosId = (int) t.varint();
                case 42 -> eosId = (int) t.varint();
                default -> t.skip();
              }
            }
          }
          case 3 -> {
            Wire n = top.message();
            while (n.hasMore()) {
              switch (n.tag()) {
                case 1 -> normalizerName = n.string();
                case 3 -> addDummyPrefix = n.varint() != 0;
                case 4 -> removeExtraWhitespaces = n.varint() != 0;
                default -> n.skip();
              }
            }
          }
          default -> top.skip();
        }
      }
    } catch (MalformedProtobuf e) {
      throw bad(file, e.getMessage());
    }
    if (pieces.isEmpty()) {
      throw bad(file, "it holds no pieces (field 1 of ModelProto)");
    }
    if (modelType != BPE) {
      throw new IllegalArgumentException(
          file
              + ": SentencePiece model_type "
              + modelType
              + " is not supported; nanscope reads BPE models (model_type 2) such as Llama's");
    }
    if (!normalizerName.equals("identity")) {
      throw new IllegalArgumentException(
          file
              + ": SentencePiece normalizer '"
              + normalizerName
              + "' is not supported; nanscope implements 'identity' (Llama's)");
    }
    int n = pieces.size();
    String[] p = pieces.toArray(String[]::new);
    float[] s = new float[n];
    for (int i = 0; i < n; i++) {
      s[i] = scores.get(i);
    }
    return Tokenizer.byScore(
        file.toString(),
        p,
        s,
        types.toArray(PieceType[]::new),
        new Normalization(addDummyPrefix, removeExtraWhitespaces),
        byteFallback,
        idOrNone(unkId, n),
        idOrNone(bosId, n),
        idOrNone(eosId, n));
  }

  private static int idOrNone(int id, int n) {
    return id >= 0 && id < n ? id : -1;
  }

  private static IllegalArgumentException bad(Path file, String what) {
    return new IllegalArgumentException(
        file + ": not a SentencePiece tokenizer.model (protobuf ModelProto): " + what);
  }

  private static final class MalformedProtobuf extends RuntimeException {
    MalformedProtobuf(String message) {
      super(message, null, false, false);
    }
  }

  /** Protobuf wire format over a buffer: tags, varints, fixed32, length-delimited. */
  private static final class Wire {
    private final ByteBuffer buf;
    private int wireType;

    Wire(ByteBuffer buf) {
      this.buf = buf.order(ByteOrder.LITTLE_ENDIAN);
    }

    boolean hasMore() {
      return buf.hasRemaining();
    }

    int tag() {
      long key = varint();
      wireType = (int) (key & 7);
      long field = key >>> 3;
      if (field == 0 || field > (1 << 29)) {
        throw new MalformedProtobuf("invalid field number " + field + " at byte " + buf.position());
      }
      return (int) field;
    }

    long varint() {
      long result = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (!buf.hasRemaining()) {
          throw new MalformedProtobuf("truncated varint at byte " + buf.position());
        }
        int b = buf.get() & 0xFF;
        result |= (long) (b & 0x7F) << shift;
        if (b < 0x80) {
          return result;
        }
      }
      throw new MalformedProtobuf("varint longer than 10 bytes at byte " + buf.position());
    }

    float fixed32Float() {
      expect(5);
      need(4);
      return buf.getFloat();
    }

    String string() {
      return StandardCharsets.UTF_8.decode(bytes()).toString();
    }

    Wire message() {
      return new Wire(bytes());
    }

    private ByteBuffer bytes() {
      expect(2);
      long len = varint();
      if (len < 0 || len > buf.remaining()) {
        throw new MalformedProtobuf(
            "length "
                + len
                + " at byte "
                + buf.position()
                + " runs past the end ("
                + buf.remaining()
                + " bytes left)");
      }
      ByteBuffer s = buf.slice(buf.position(), (int) len);
      buf.position(buf.position() + (int) len);
      return s;
    }

    void skip() {
      switch (wireType) {
        case 0 -> varint();
        case 1 -> {
          need(8);
          buf.position(buf.position() + 8);
        }
        case 2 -> bytes();
        case 5 -> {
          need(4);
          buf.position(buf.position() + 4);
        }
        default ->
            throw new MalformedProtobuf(
                "unsupported wire type " + wireType + " before byte " + buf.position());
      }
    }

    private void expect(int type) {
      if (wireType != type) {
        throw new MalformedProtobuf(
            "wire type "
                + wireType
                + " where "
                + type
                + " was expected, before byte "
                + buf.position());
      }
    }

    private void need(int n) {
      if (buf.remaining() < n) {
        throw new MalformedProtobuf("truncated field at byte " + buf.position());
      }
    }
  }
}
