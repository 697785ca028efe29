package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.save.SavedEdit;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.SafetensorsFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code edit --sequential --save DIR} then {@code revert}: the original tensors come back bit for
 * bit; a tampered manifest, tensor or originals file is refused with one line and exit 2, and
 * nothing is written. One real ROME edit on the embedded model, shared by the tests.
 */
class SaveRevertCommandTest {

  @TempDir static Path shared;
  static Path saved;

  @BeforeAll
  static void editAndSave() {
    saved = shared.resolve("edited");
    MainTest.Result r =
        MainTest.run(
            "edit",
            "--model",
            EditCommandTest.MODEL,
            "--hparams",
            EditCommandTest.HPARAMS,
            "--data",
            EditCommandTest.DATA,
            "--ds-size",
            "1",
            "--sequential",
            "--no-fluency",
            "--save",
            saved.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("edited model saved to " + saved + " (1 changed tensor(s)");
  }

  /** The embedded model as the edit loaded it (FP32), in the saved directory's q/k row order. */
  static LlamaWeights original() throws IOException {
    return LlamaWeights.read(ConvertAndSynthCommandTest.STORIES)
        .withRopeLayout(RopeLayout.HF_ROTATE_HALF);
  }

  static Path copy(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> s = Files.list(from)) {
      for (Path p : s.toList()) {
        Files.copy(p, to.resolve(p.getFileName()));
      }
    }
    return to;
  }

  @Test
  void savedDirectoryIsTheEditedModelWithItsManifestAndOriginals() throws IOException {
    LlamaWeights edited = LlamaWeights.read(saved);
    assertThat(edited.firstBitwiseDifference(original()))
        .hasValueSatisfying(d -> assertThat(d).startsWith("model.layers.1.mlp.down_proj.weight"));
    String manifest = Files.readString(saved.resolve(SavedEdit.MANIFEST));
    assertThat(manifest)
        .contains("\"algorithm\" : \"ROME\"")
        .contains("\"policy\" : \"fp32\"")
        .contains("\"storage\" : \"float32\"")
        .contains("\"name\" : \"model.layers.1.mlp.down_proj.weight\"")
        .contains("\"sha256_before\"")
        .contains("\"sha256_after\"")
        .contains("alg_name"); // the hparams text
    assertThat(SafetensorsFile.open(saved.resolve(SavedEdit.ORIGINALS)).names())
        .containsExactly("model.layers.1.mlp.down_proj.weight");
  }

  @Test
  void revertToANewDirectoryGivesTheOriginalBitForBitAndTheSameFileAsConvert(@TempDir Path tmp)
      throws IOException {
    Path out = tmp.resolve("reverted");
    MainTest.Result r = MainTest.run("revert", saved.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("reverted 1 tensor(s) into " + out);
    assertThat(LlamaWeights.read(out).firstBitwiseDifference(original())).isEmpty();
    assertThat(Files.exists(out.resolve(SavedEdit.MANIFEST))).isFalse();
    assertThat(Files.exists(saved.resolve(SavedEdit.MANIFEST))).as("DIR untouched").isTrue();
    // byte for byte the file convert writes from the original model
    Path converted = tmp.resolve("converted");
    MainTest.Result c =
        MainTest.run("convert", "--model", EditCommandTest.MODEL, "--out", converted.toString());
    assertThat(c.code()).as(c.err()).isZero();
    for (String f : List.of("model.safetensors", "config.json", "tokenizer.json")) {
      assertThat(Files.readAllBytes(out.resolve(f)))
          .as(f)
          .isEqualTo(Files.readAllBytes(converted.resolve(f)));
    }
  }

  @Test
  void revertInPlaceRemovesTheManifestAndAnInterruptedRevertIsFinished(@TempDir Path tmp)
      throws IOException {
    Path dir = copy(saved, tmp.resolve("in-place"));
    // a revert killed after replacing the weights, before removing the manifest: finish it
    Path half = copy(saved, tmp.resolve("half"));
    MainTest.Result first = MainTest.run("revert", dir.toString());
    assertThat(first.code()).as(first.err()).isZero();
    assertThat(LlamaWeights.read(dir).firstBitwiseDifference(original())).isEmpty();
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString()))
          .doesNotContain(SavedEdit.MANIFEST, SavedEdit.ORIGINALS)
          .noneMatch(n -> n.startsWith("."));
    }
    Files.copy(
        dir.resolve("model.safetensors"),
        half.resolve("model.safetensors"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.delete(half.resolve(SavedEdit.ORIGINALS));
    MainTest.Result again = MainTest.run("revert", half.toString());
    assertThat(again.code()).as(again.err()).isZero();
    assertThat(again.out()).contains("already held the original bits");
    assertThat(Files.exists(half.resolve(SavedEdit.MANIFEST))).isFalse();
  }

  @Test
  void tamperedTensorManifestOrOriginalsIsOneLineExitTwoAndWritesNothing(@TempDir Path tmp)
      throws IOException {
    // a flipped bit in the edited tensor of model.safetensors
    Path tensor = copy(saved, tmp.resolve("tensor"));
    SafetensorsFile.Entry e =
        SafetensorsFile.open(tensor.resolve("model.safetensors"))
            .entry("model.layers.1.mlp.down_proj.weight");
    flipByte(tensor.resolve("model.safetensors"), headerEnd(tensor) + e.begin() + 100);
    expectRefused(tensor, tmp, "matches neither the edited nor the original sha256");

    Path originals = copy(saved, tmp.resolve("originals"));
    flipByte(originals.resolve(SavedEdit.ORIGINALS), 200);
    expectRefused(originals, tmp, "the originals were changed or truncated");

    Path sha = copy(saved, tmp.resolve("sha"));
    String m = Files.readString(sha.resolve(SavedEdit.MANIFEST));
    String after = m.replaceFirst("(?s).*\"sha256_after\" : \"([0-9a-f]{64})\".*", "$1");
    Files.writeString(sha.resolve(SavedEdit.MANIFEST), m.replace(after, "0".repeat(64)));
    expectRefused(sha, tmp, "matches neither the edited nor the original sha256");

    Path json = copy(saved, tmp.resolve("json"));
    Files.writeString(json.resolve(SavedEdit.MANIFEST), m.substring(0, m.length() / 2));
    expectRefused(json, tmp, "not valid JSON");

    Path field = copy(saved, tmp.resolve("field"));
    Files.writeString(field.resolve(SavedEdit.MANIFEST), m.replace("\"tensors\"", "\"tensorz\""));
    expectRefused(field, tmp, "\"tensors\" is missing");

    Path none = copy(saved, tmp.resolve("none"));
    Files.delete(none.resolve(SavedEdit.MANIFEST));
    expectRefused(none, tmp, "not a directory written by 'nanscope edit --save'");
  }

  private static void expectRefused(Path dir, Path tmp, String message) throws IOException {
    byte[] before = Files.readAllBytes(dir.resolve("model.safetensors"));
    Path out = tmp.resolve("out-" + dir.getFileName());
    for (String[] args :
        new String[][] {
          {"revert", dir.toString(), "--out", out.toString()}, {"revert", dir.toString()}
        }) {
      MainTest.Result r = MainTest.run(args);
      assertThat(r.code()).as(r.err()).isEqualTo(Main.EXIT_BAD_INPUT);
      assertThat(r.err().strip().lines().toList()).singleElement().asString().contains(message);
    }
    assertThat(Files.exists(out)).as("no output directory").isFalse();
    assertThat(Files.readAllBytes(dir.resolve("model.safetensors"))).isEqualTo(before);
  }

  private static long headerEnd(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir.resolve("model.safetensors"))) {
      ByteBuffer b = ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      ch.read(b, 0);
      return 8 + b.getLong(0);
    }
  }

  private static void flipByte(Path file, long at) throws IOException {
    try (FileChannel ch =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, at);
      b.put(0, (byte) (b.get(0) ^ 0x40));
      ch.write(b.rewind(), at);
    }
  }

  @Test
  void badSaveAndOutAreRefusedBeforeAnyWork(@TempDir Path tmp) throws IOException {
    Path full = Files.createDirectories(tmp.resolve("full"));
    Files.writeString(full.resolve("x"), "x");
    Path hp = tmp.resolve("layer9.yaml");
    Files.writeString(
        hp,
        Files.readString(Path.of(EditCommandTest.HPARAMS)).replace("layers: [1]", "layers: [9]"));
    Path noCorpus = tmp.resolve("no-corpus.yaml");
    Files.writeString(
        noCorpus,
        Files.readString(Path.of(EditCommandTest.HPARAMS))
            .replace("mom2_adjustment: false", "mom2_adjustment: true")
            .replace("configs/corpus/tinystories-corpus.txt", tmp.resolve("none.txt").toString()));
    String[][] cases = {
      {"--save", tmp.resolve("s").toString(), "add --sequential"},
      {"--sequential", "--save", full.toString(), "already exists and is not empty"},
      {"--sequential", "--save", full.resolve("x").toString(), "is not a directory"},
      {"--out", full.toString(), "is a directory"},
      {"--hparams", hp.toString(), "layers lists 9 but the model has 5 layers"},
      {"--hparams", noCorpus.toString(), "none.txt does not exist"},
    };
    for (String[] c : cases) {
      List<String> args =
          new java.util.ArrayList<>(
              List.of(
                  "edit",
                  "--model",
                  EditCommandTest.MODEL,
                  "--data",
                  EditCommandTest.DATA,
                  "--ds-size",
                  "1",
                  "--no-fluency"));
      if (!List.of(c).contains("--hparams")) {
        args.addAll(List.of("--hparams", EditCommandTest.HPARAMS));
      }
      args.addAll(List.of(c).subList(0, c.length - 1));
      long t0 = System.nanoTime();
      MainTest.Result r = MainTest.run(args.toArray(String[]::new));
      double seconds = (System.nanoTime() - t0) / 1e9;
      assertThat(r.code()).as(String.join(" ", c) + ": " + r.err()).isEqualTo(Main.EXIT_BAD_INPUT);
      assertThat(r.err().strip().lines().toList())
          .as(String.join(" ", c))
          .singleElement()
          .asString()
          .contains(c[c.length - 1]);
      // refused before the templates, statistics or any edit (an edit takes seconds)
      assertThat(r.out()).as(String.join(" ", c)).doesNotContain("Cached context templates");
    }
    assertThat(Files.list(full).toList()).hasSize(1);
  }
}
