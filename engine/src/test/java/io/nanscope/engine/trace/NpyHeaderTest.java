package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The one .npy header codec. Byte-level agreement with np.save for ordinary shapes is checked by
 * NpyTest and NpyArrayTest against committed numpy fixtures; this test covers the corner those
 * shapes never reach and the reader's errors.
 */
class NpyHeaderTest {

  /**
   * A header that is already 64-byte aligned gets a full 64 spaces of padding, as numpy's {@code
   * _wrap_header} does. numpy 2.4: {@code np.save(b, np.zeros((1,) * 36, '<f4'))} writes a header
   * length of 246 (the 10-byte preamble makes 256).
   */
  @Test
  void anAlignedHeaderIsPaddedByAFull64AsNumpyDoes() {
    long[] shape = new long[36];
    Arrays.fill(shape, 1);
    byte[] b = NpyHeader.encode("<f4", shape);
    assertThat(b.length).isEqualTo(256);
    assertThat((b[8] & 0xFF) | (b[9] & 0xFF) << 8).isEqualTo(246);
    String h = new String(b, 10, 246, StandardCharsets.US_ASCII);
    assertThat(h).endsWith(" ".repeat(64 + 20) + "\n"); // 20 growth spaces for "1", then 64
    NpyHeader back = NpyHeader.decode("x.npy", b);
    assertThat(back.descr()).isEqualTo("<f4");
    assertThat(back.shape()).isEqualTo(shape);
    assertThat(back.fortranOrder()).isFalse();
    assertThat(back.dataOffset()).isEqualTo(256);
  }

  @Test
  void everyDataOffsetIsOn64BytesAndShapesRoundTrip() {
    for (long[] shape :
        new long[][] {{}, {0}, {1}, {7}, {4095}, {2, 3}, {31, 33, 1}, {123456789012L, 2}}) {
      for (String descr : new String[] {"<f2", "<f4", "<f8", "<i8", "<U7"}) {
        byte[] b = NpyHeader.encode(descr, shape);
        assertThat(b.length % 64).as("%s %s", descr, Arrays.toString(shape)).isZero();
        NpyHeader h = NpyHeader.decode("x.npy", b);
        assertThat(h.descr()).isEqualTo(descr);
        assertThat(h.shape()).isEqualTo(shape);
        assertThat(h.dataOffset()).isEqualTo(b.length);
      }
    }
  }

  @Test
  void badHeadersAreNamed() {
    assertThatThrownBy(
            () -> NpyHeader.decode("x.npy", "not numpy".getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("x.npy: not a .npy file (no \\x93NUMPY magic)");
    byte[] good = NpyHeader.encode("<f4", new long[] {2, 3});
    byte[] v9 = good.clone();
    v9[6] = 9;
    assertThatThrownBy(() -> NpyHeader.decode("x.npy", v9))
        .hasMessageContaining("unsupported .npy format version 9.0");
    assertThatThrownBy(() -> NpyHeader.decode("x.npy", Arrays.copyOf(good, 40)))
        .hasMessageContaining("truncated");
    byte[] noDict = good.clone();
    Arrays.fill(noDict, 10, noDict.length - 1, (byte) ' ');
    assertThatThrownBy(() -> NpyHeader.decode("x.npy", noDict))
        .hasMessageContaining("x.npy: .npy header is not a numpy dict");
  }
}
