package io.nanscope.editing.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecondMomentFileTest {

  static final SecondMomentProvenance PROVENANCE =
      new SecondMomentProvenance(
          "configs/corpus/tinystories-corpus.txt",
          "66dccbe6",
          2,
          4,
          "model.layers.1.mlp.down_proj",
          "fp32",
          "fp64 sequential",
          "float32",
          "models/stories260K/stories260K.bin",
          "b0a507e7",
          "nanscope test",
          null);

  /**
   * S[i][j] = (i+1)(j+1)/3 + [i == j], count 4: the values scripts/editing/npz_fixtures.py verify
   * checks.
   */
  static SecondMoment javaFixture() {
    double[] s = new double[9];
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) {
        s[i * 3 + j] = (i + 1) * (j + 1) / 3.0 + (i == j ? 1 : 0);
      }
    }
    return new SecondMoment(3, 4, s, Optional.of(PROVENANCE));
  }

  @Test
  void readsAnEasyEditLayoutFileWrittenByNumpy() throws IOException {
    SecondMoment m = SecondMomentFile.read(Fixtures.stats("numpy-mom2.npz"));
    assertThat(m.dim()).isEqualTo(6);
    assertThat(m.count()).isEqualTo(37);
    assertThat(m.provenance()).isEmpty();
    double[] f64 =
        NpyArray.fromNpy("f64", Files.readAllBytes(Fixtures.stats("numpy-mom2-f64.npy"))).doubles();
    double[] s = m.sum();
    for (int i = 0; i < s.length; i++) {
      assertThat(s[i]).isEqualTo((double) (float) f64[i]); // numpy stored float32(K^T K)
    }
  }

  /**
   * Java → numpy: the bytes this writer produces equal the committed java-mom2.npz, which {@code
   * python3 scripts/editing/npz_fixtures.py verify} loads with numpy and checks value by value.
   */
  @Test
  void writerOutputIsTheNumpyVerifiedFixture() throws IOException {
    Path out = io.nanscope.editing.RepoPaths.inRepo("editing/target/java-mom2.npz");
    SecondMomentFile.write(out, javaFixture(), "float32", 2);
    assertThat(Files.readAllBytes(out))
        .as(
            "regenerate: cp editing/target/java-mom2.npz editing/src/test/resources/stats/ and run npz_fixtures.py verify")
        .isEqualTo(Files.readAllBytes(Fixtures.stats("java-mom2.npz")));
  }

  @Test
  void roundTripsThroughAFile(@TempDir Path dir) throws IOException {
    SecondMoment m = javaFixture();
    Path f64 = dir.resolve("a.npz");
    SecondMomentFile.write(f64, m, "float64", 2);
    assertThat(SecondMomentFile.read(f64)).isEqualTo(m);
    Path f32 = dir.resolve("b.npz");
    SecondMomentFile.write(f32, m, "float32", 2);
    SecondMoment back = SecondMomentFile.read(f32);
    assertThat(back.provenance()).contains(PROVENANCE);
    for (int i = 0; i < 9; i++) {
      assertThat(back.sum()[i]).isEqualTo((double) (float) m.sum()[i]);
    }
    // the content key of a cache file survives the round trip
    SecondMomentProvenance keyed =
        new SecondMomentProvenance(
            PROVENANCE.corpus(),
            PROVENANCE.corpusSha256(),
            PROVENANCE.texts(),
            PROVENANCE.count(),
            PROVENANCE.layer(),
            PROVENANCE.keyFormat(),
            PROVENANCE.accumulation(),
            PROVENANCE.storedDtype(),
            PROVENANCE.model(),
            PROVENANCE.modelSha256(),
            PROVENANCE.tool(),
            "ab".repeat(32));
    Path withKey = dir.resolve("c.npz");
    SecondMomentFile.write(
        withKey, new SecondMoment(m.dim(), m.count(), m.sum(), Optional.of(keyed)), "float32", 2);
    assertThat(SecondMomentFile.read(withKey).provenance()).contains(keyed);
    Npz.Contents raw = Npz.read(f32);
    assertThat(raw.arrays().keySet())
        .containsExactly("mom2.constructor", "mom2.count", "mom2.mom2", "sample_size");
    assertThat(raw.other().keySet()).containsExactly("provenance.json");
    assertThat(raw.arrays().get("sample_size").longValue()).isEqualTo(2);
  }

  @Test
  void easyEditNamesAndPaths() {
    assertThat(SecondMomentFile.fileName("model.layers.5.mlp.down_proj", "float32", 100000))
        .isEqualTo("model.layers.5.mlp.down_proj_float32_mom2_100000.npz");
    assertThat(
            SecondMomentFile.cachePath(
                Path.of("data/stats"),
                "meta-llama/Llama-2-7b-hf",
                "wikipedia",
                "model.layers.5.mlp.down_proj",
                "float32",
                100000))
        .isEqualTo(
            Path.of(
                "data/stats/meta-llama_Llama-2-7b-hf/wikipedia_stats/model.layers.5.mlp.down_proj_float32_mom2_100000.npz"));
  }

  @Test
  void compressedNpzIsReadToo() throws IOException {
    Map<String, NpyArray> arrays = Npz.read(Fixtures.stats("numpy-compressed.npz")).arrays();
    assertThat(arrays.keySet())
        .containsExactlyInAnyOrder("f4_2x3x4", "f8_5", "i8_scalar", "f4_1000", "u_scalar");
    for (Map.Entry<String, NpyArray> e : arrays.entrySet()) {
      byte[] single = Files.readAllBytes(Fixtures.stats("npy/" + e.getKey() + ".npy"));
      assertThat(e.getValue()).isEqualTo(NpyArray.fromNpy(e.getKey(), single));
    }
  }

  @Test
  void badFilesAreNamed(@TempDir Path dir) throws IOException {
    Path notZip = dir.resolve("x.npz");
    Files.writeString(notZip, "hello");
    assertThatThrownBy(() -> SecondMomentFile.read(notZip)).hasMessageContaining("x.npz");
    assertThatThrownBy(() -> SecondMomentFile.read(Fixtures.stats("numpy-compressed.npz")))
        .hasMessageContaining("no array 'mom2.mom2'");
    assertThatThrownBy(
            () -> SecondMomentFile.write(dir.resolve("y.npz"), javaFixture(), "float16", 2))
        .hasMessageContaining("float16");
    assertThat(dir.resolve("y.npz")).doesNotExist();
  }
}
