package io.nanscope.editing.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Against np.save output (scripts/editing/npz_fixtures.py make): values and byte-exact re-encoding.
 */
class NpyArrayTest {

  private static NpyArray load(String name) throws IOException {
    return NpyArray.fromNpy(name, Files.readAllBytes(Fixtures.stats("npy/" + name + ".npy")));
  }

  @Test
  void everyNumpyFileReEncodesByteForByte() throws IOException {
    for (String name : new String[] {"f4_2x3x4", "f8_5", "i8_scalar", "f4_1000", "u_scalar"}) {
      byte[] bytes = Files.readAllBytes(Fixtures.stats("npy/" + name + ".npy"));
      assertThat(NpyArray.fromNpy(name, bytes).toNpy()).as(name).isEqualTo(bytes);
    }
  }

  @Test
  void valuesAreNumpys() throws IOException {
    NpyArray f4 = load("f4_2x3x4");
    assertThat(f4.descr()).isEqualTo("<f4");
    assertThat(f4.shape()).containsExactly(2, 3, 4);
    float[] v = f4.floats();
    for (int i = 0; i < 24; i++) {
      assertThat(v[i]).isEqualTo(i * 0.25f - 3f); // exact in binary
    }
    assertThat(load("f8_5").doubles()).containsExactly(0.1, -2.5, 1e300, -0.0, Double.MIN_VALUE);
    assertThat(Double.doubleToRawLongBits(load("f8_5").doubles()[3]))
        .isEqualTo(Double.doubleToRawLongBits(-0.0));
    NpyArray i8 = load("i8_scalar");
    assertThat(i8.shape()).isEmpty();
    assertThat(i8.longValue()).isEqualTo((1L << 40) + 7);
    NpyArray lin = load("f4_1000");
    assertThat(lin.shape()).containsExactly(1000);
    assertThat(lin.floats()[0]).isEqualTo(-1f);
    assertThat(lin.floats()[999]).isEqualTo(1f);
    assertThat(load("u_scalar").descr()).isEqualTo("<U32");
    assertThat(load("u_scalar").stringValue()).isEqualTo("util.runningstats.SecondMoment()");
  }

  @Test
  void javaBuiltArraysEncodeLikeNumpy() throws IOException {
    float[] v = new float[24];
    for (int i = 0; i < 24; i++) {
      v[i] = i * 0.25f - 3f;
    }
    assertThat(NpyArray.ofFloats(v, 2, 3, 4).toNpy())
        .isEqualTo(Files.readAllBytes(Fixtures.stats("npy/f4_2x3x4.npy")));
    assertThat(NpyArray.ofLong((1L << 40) + 7).toNpy())
        .isEqualTo(Files.readAllBytes(Fixtures.stats("npy/i8_scalar.npy")));
    assertThat(NpyArray.ofString("util.runningstats.SecondMoment()").toNpy())
        .isEqualTo(Files.readAllBytes(Fixtures.stats("npy/u_scalar.npy")));
    assertThat(
            NpyArray.ofDoubles(new double[] {0.1, -2.5, 1e300, -0.0, Double.MIN_VALUE}, 5).toNpy())
        .isEqualTo(Files.readAllBytes(Fixtures.stats("npy/f8_5.npy")));
  }

  @Test
  void headerStartsDataOn64ByteBoundary() {
    for (int n : new int[] {0, 1, 7, 31, 33, 4095}) {
      byte[] b = NpyArray.ofFloats(new float[n], n).toNpy();
      assertThat((b.length - 4L * n) % 64).as("n=%d", n).isZero();
    }
  }

  @Test
  void malformedInputIsNamed() throws IOException {
    byte[] good = Files.readAllBytes(Fixtures.stats("npy/f4_2x3x4.npy"));
    assertThatThrownBy(() -> NpyArray.fromNpy("x.npy", new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}))
        .hasMessageContaining("x.npy: not a .npy file");
    assertThatThrownBy(() -> NpyArray.fromNpy("x.npy", Arrays.copyOf(good, good.length - 4)))
        .hasMessageContaining("x.npy: .npy data is 92 bytes, the header promises 96");
    String header = new String(good, 0, 128, java.nio.charset.StandardCharsets.ISO_8859_1);
    byte[] big = good.clone();
    int at = header.indexOf("<f4");
    big[at] = '>';
    assertThatThrownBy(() -> NpyArray.fromNpy("b.npy", big)).hasMessageContaining("big-endian");
    byte[] fortran = good.clone();
    at = header.indexOf("False");
    System.arraycopy(
        "True ".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, fortran, at, 5);
    assertThatThrownBy(() -> NpyArray.fromNpy("f.npy", fortran))
        .hasMessageContaining("Fortran-order");
    byte[] f2 = good.clone();
    at = header.indexOf("<f4");
    f2[at + 2] = '2';
    assertThatThrownBy(() -> NpyArray.fromNpy("h.npy", f2))
        .hasMessageContaining("unsupported numpy dtype '<f2'");
    assertThatThrownBy(() -> NpyArray.ofFloats(new float[5], 2, 3))
        .hasMessageContaining("needs 24 bytes, got 20");
  }
}
