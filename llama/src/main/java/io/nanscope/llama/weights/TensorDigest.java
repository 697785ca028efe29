package io.nanscope.llama.weights;

import io.nanscope.engine.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The sha256 of a tensor's stored bits: its elements in row-major order, little-endian, exactly the
 * bytes a safetensors file holds for it (the data between its {@code data_offsets}), so the digest
 * of a tensor in memory and of the same tensor in a file agree.
 */
public final class TensorDigest {

  private static final int CHUNK_BYTES = 1 << 20;

  private TensorDigest() {}

  /** Lower-case hex sha256 of {@code t}'s bytes. */
  public static String sha256(Tensor t) {
    if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
      throw new UnsupportedOperationException("tensor digests need a little-endian platform");
    }
    MessageDigest md = newSha256();
    MemorySegment s = t.segment();
    // through a byte[]: a heap segment over float[]/short[] cannot be viewed as a ByteBuffer
    byte[] buf = new byte[(int) Math.min(CHUNK_BYTES, s.byteSize())];
    MemorySegment bufSegment = MemorySegment.ofArray(buf);
    for (long pos = 0; pos < s.byteSize(); pos += CHUNK_BYTES) {
      int n = (int) Math.min(CHUNK_BYTES, s.byteSize() - pos);
      MemorySegment.copy(s, pos, bufSegment, 0, n);
      md.update(buf, 0, n);
    }
    return HexFormat.of().formatHex(md.digest());
  }

  static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK has no SHA-256", e);
    }
  }
}
