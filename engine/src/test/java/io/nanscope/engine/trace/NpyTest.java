package io.nanscope.engine.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Byte-for-byte against files numpy 2.4.6 wrote ({@code npy/make_npy_fixtures.py}, committed with
 * its outputs): each tensor is rebuilt here from the same bit patterns, independently of numpy.
 */
class NpyTest {

  static byte[] fixture(String name) throws IOException {
    try (InputStream in = NpyTest.class.getResourceAsStream("npy/" + name)) {
      assertThat(in).as("fixture " + name).isNotNull();
      return in.readAllBytes();
    }
  }

  static Tensor f32Bits(Shape shape, int... bits) {
    Tensor t = Tensor.zeros(FloatFormat.FP32, shape);
    for (int i = 0; i < bits.length; i++) {
      t.segment().setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, Float.intBitsToFloat(bits[i]));
    }
    return t;
  }

  static Tensor f16Bits(Shape shape, int... bits) {
    Tensor t = Tensor.zeros(FloatFormat.FP16, shape);
    for (int i = 0; i < bits.length; i++) {
      t.segment().setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) bits[i]);
    }
    return t;
  }

  static Tensor vector() {
    return f32Bits(
        Shape.of(8),
        Float.floatToRawIntBits(1f),
        Float.floatToRawIntBits(-2.5f),
        0x7f800000,
        0xff800000,
        0x7fc00000,
        0x80000000,
        0x00000001,
        0x7f7fffff);
  }

  static Tensor matrix() {
    return f16Bits(Shape.of(2, 3), 0x7bff, 0x7c00, 0x0001, 0x8000, 0x3555, 0x7e00);
  }

  static Tensor scalar() {
    Tensor t = Tensor.zeros(FloatFormat.FP64, Shape.of());
    t.setDouble(0, 0.1);
    return t;
  }

  static Tensor rank3() {
    float[] v = new float[24];
    for (int i = 0; i < v.length; i++) {
      v[i] = i;
    }
    return Tensor.of(FloatFormat.FP32, Shape.of(2, 3, 4), v);
  }

  @Test
  void writesTheSameBytesAsNumpy() throws IOException {
    assertThat(Npy.toBytes(vector())).isEqualTo(fixture("f4_vector.npy"));
    assertThat(Npy.toBytes(matrix())).isEqualTo(fixture("f2_matrix.npy"));
    assertThat(Npy.toBytes(scalar())).isEqualTo(fixture("f8_scalar.npy"));
    assertThat(Npy.toBytes(Tensor.zeros(FloatFormat.FP32, Shape.of(0))))
        .isEqualTo(fixture("f4_empty.npy"));
    assertThat(Npy.toBytes(rank3())).isEqualTo(fixture("f4_rank3.npy"));
  }

  @Test
  void readsNumpyFilesBitExactly() throws IOException {
    for (String name :
        new String[] {"f4_vector", "f2_matrix", "f8_scalar", "f4_empty", "f4_rank3"}) {
      Tensor expected =
          switch (name) {
            case "f4_vector" -> vector();
            case "f2_matrix" -> matrix();
            case "f8_scalar" -> scalar();
            case "f4_empty" -> Tensor.zeros(FloatFormat.FP32, Shape.of(0));
            default -> rank3();
          };
      Tensor got = Npy.fromBytes(fixture(name + ".npy"));
      assertThat(got.format()).as(name).isEqualTo(expected.format());
      assertThat(got.shape()).as(name).isEqualTo(expected.shape());
      assertThat(got.segment().toArray(ValueLayout.JAVA_BYTE))
          .as(name)
          .isEqualTo(expected.segment().toArray(ValueLayout.JAVA_BYTE));
    }
    Tensor v2 = Npy.fromBytes(fixture("f4_v2.npy"));
    assertThat(v2.toFloatArray()).containsExactly(7f, 8f);
  }

  @Test
  void bf16IsWrittenAsExactFp32AndFilesRoundTrip(@TempDir Path dir) {
    Tensor bf = Tensor.of(FloatFormat.BF16, Shape.of(3), 1.5f, -3e38f, 1e-40f);
    Path f = dir.resolve("bf.npy");
    Npy.write(f, bf);
    Tensor back = Npy.read(f);
    assertThat(back.format()).isEqualTo(FloatFormat.FP32);
    assertThat(back.toFloatArray()).containsExactly(bf.toFloatArray());
    assertThat(dir.toFile().list()).containsExactly("bf.npy");
  }

  @Test
  void rejectsWhatItCannotReadWithAHint(@TempDir Path dir) throws IOException {
    assertThatThrownBy(() -> Npy.fromBytes("not numpy".getBytes()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a .npy file");
    byte[] f4 = fixture("f4_vector.npy");
    byte[] i4 = f4.clone();
    i4[22] = 'i'; // {'descr': '<f4' -> '<i4'
    assertThat(new String(f4, 10, 16)).isEqualTo("{'descr': '<f4',");
    assertThatThrownBy(() -> Npy.fromBytes(i4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'<i4'")
        .hasMessageContaining("astype");
    byte[] truncated = java.util.Arrays.copyOf(f4, f4.length - 1);
    assertThatThrownBy(() -> Npy.fromBytes(truncated))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("truncated");
    Path missing = dir.resolve("missing.npy");
    assertThatThrownBy(() -> Npy.read(missing))
        .isInstanceOf(java.io.UncheckedIOException.class)
        .hasMessageContaining("missing.npy");
    assertThat(Files.exists(missing)).isFalse();
  }
}
