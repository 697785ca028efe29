package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * `nanscope edit` end to end on the embedded model (a few records; each edit takes a few seconds).
 */
class EditCommandTest {

  static final Path ROOT = ConvertAndSynthCommandTest.repoRoot();
  static final String MODEL = ConvertAndSynthCommandTest.STORIES.toString();
  static final String HPARAMS = ROOT.resolve(EditCommand.DEFAULT_HPARAMS).toString();
  static final String DATA = ROOT.resolve(EditCommand.DEFAULT_DATA).toString();

  @Test
  void editsEvaluatesAndWritesEasyEditShapedResults(@TempDir Path tmp) throws Exception {
    Path json = tmp.resolve("results.json");
    MainTest.Result r =
        MainTest.run(
            "edit",
            "--model",
            MODEL,
            "--hparams",
            HPARAMS,
            "--data",
            DATA,
            "--ds-size",
            "2",
            "--no-fluency",
            "--out",
            json.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(
            r.out()
                .lines()
                .filter(l -> l.startsWith("Executing ROME algorithm for the update: "))
                .count())
        .isEqualTo(2);
    assertThat(r.out())
        .contains("Edit Succ.")
        .contains("Locality")
        .contains("results written to " + json);
    // The progress bar: a line whenever it moved, ending at 2/2.
    List<String> bar = r.err().lines().filter(l -> l.startsWith("edit ")).toList();
    assertThat(bar).isNotEmpty();
    assertThat(bar.getLast()).contains("100%").contains("2/2");
    assertThat(bar).doesNotHaveDuplicates();

    JsonNode results = new ObjectMapper().readTree(json.toFile());
    assertThat(results.size()).isEqualTo(2);
    for (JsonNode rec : results) {
      assertThat(rec.has("case_id")).isTrue();
      assertThat(rec.get("requested_rewrite").get("subject").isString()).isTrue();
      for (String phase : List.of("pre", "post")) {
        JsonNode acc = rec.get(phase).get("rewrite_acc");
        assertThat(acc.isArray()).as(phase).isTrue();
        assertThat(acc.get(0).asDouble()).isBetween(0.0, 1.0);
      }
      assertThat(rec.get("post").get("locality").get("Relation_Specificity_acc").isArray())
          .isTrue();
    }
    assertThat(Files.list(tmp).filter(p -> !p.equals(json)).toList())
        .as("no temp files left")
        .isEmpty();
  }

  @Test
  void secondMomentIsComputedOnceWithAProgressBarThenReadFromTheCache(@TempDir Path tmp)
      throws Exception {
    Path stats = tmp.resolve("stats");
    Path hp = tmp.resolve("mom2.yaml");
    Files.writeString(
        hp,
        Files.readString(Path.of(HPARAMS))
            .replace("mom2_adjustment: false", "mom2_adjustment: true")
            .replace("mom2_n_samples: 300", "mom2_n_samples: 6")
            .replaceFirst("stats_dir: .*", "stats_dir: \"" + stats + "\"")
            .replace("configs/corpus/", ROOT.resolve("configs/corpus") + "/"));
    String[] args = {
      "edit",
      "--model",
      MODEL,
      "--hparams",
      hp.toString(),
      "--data",
      DATA,
      "--ds-size",
      "1",
      "--no-fluency"
    };
    MainTest.Result first = MainTest.run(args);
    assertThat(first.code()).as(first.err()).isZero();
    assertThat(first.err())
        .contains("key statistics model.layers.1.mlp.down_proj 100%")
        .contains("6/6")
        .contains("computed from 6 texts");
    Path cacheDir = stats.resolve("stories260K/tinystories-corpus_stats");
    Path npz;
    try (var files = Files.list(cacheDir)) {
      npz = files.collect(Collectors.toList()).getFirst();
    }
    assertThat(Files.list(cacheDir).count()).isEqualTo(1);
    // EasyEdit's name plus the first 16 hex digits of the content key
    assertThat(npz.getFileName().toString())
        .matches("model\\.layers\\.1\\.mlp\\.down_proj_float32_mom2_6-[0-9a-f]{16}\\.npz");
    MainTest.Result second = MainTest.run(args);
    assertThat(second.code()).as(second.err()).isZero();
    assertThat(second.err()).contains("read from " + npz).doesNotContain("key statistics model");
    // Same C, same edit: the two runs print the same log.
    assertThat(second.out()).isEqualTo(first.out());

    // Another model in a folder of the same name: its own C, never the first model's.
    Path other = Files.createDirectories(tmp.resolve("other/stories260K"));
    Path stories = ConvertAndSynthCommandTest.STORIES;
    Files.copy(stories.resolve("tok512.bin"), other.resolve("tok512.bin"));
    byte[] bin = Files.readAllBytes(stories.resolve("stories260K.bin"));
    bin[28 + 4 * 100 + 3] ^= 0x01; // one embedding value of token 1, in layer 1's keys' inputs
    Files.write(other.resolve("stories260K.bin"), bin);
    args[2] = other.toString();
    MainTest.Result third = MainTest.run(args);
    assertThat(third.code()).as(third.err()).isZero();
    assertThat(third.err()).contains("computed from 6 texts").doesNotContain("read from");
    Path otherNpz;
    try (var files = Files.list(cacheDir)) {
      List<Path> all = files.filter(p -> !p.equals(npz)).toList();
      assertThat(all).hasSize(1);
      otherNpz = all.getFirst();
    }
    // The other model's C under EasyEdit's unkeyed name is not taken for the first model either.
    Path legacy = cacheDir.resolve("model.layers.1.mlp.down_proj_float32_mom2_6.npz");
    Files.copy(otherNpz, legacy);
    Files.delete(npz);
    args[2] = MODEL;
    MainTest.Result fourth = MainTest.run(args);
    assertThat(fourth.code()).as(fourth.err()).isZero();
    assertThat(fourth.err())
        .contains("not using " + legacy)
        .contains("computed from 6 texts")
        .doesNotContain("key second moment of model.layers.1.mlp.down_proj read from");
    assertThat(fourth.out()).isEqualTo(first.out());
  }

  /**
   * The alg_name of the hparams file picks the editor; each writes its layers and logs EasyEdit's
   * line.
   */
  @Test
  void everyAlgorithmRunsFromItsHparamsFile(@TempDir Path tmp) throws Exception {
    Path root = Path.of(HPARAMS).getParent().getParent();
    for (String[] c :
        new String[][] {
          {"ft/stories260K-ftm.yaml", "FT", "model.layers.3.mlp.down_proj.weight"},
          {"memit/stories260K.yaml", "MEMIT", "model.layers.1.mlp.down_proj.weight"},
          {"r-rome/stories260K.yaml", "R-ROME", "model.layers.1.mlp.down_proj.weight"}
        }) {
      Path hp = tmp.resolve(c[0].replace('/', '-')); // statistics and corpus at absolute paths
      Files.writeString(
          hp,
          Files.readString(root.resolve(c[0]))
              .replaceFirst("stats_dir: .*", "stats_dir: \"" + tmp.resolve("stats") + "\"")
              .replace("mom2_n_samples: 300", "mom2_n_samples: 20")
              .replace("configs/corpus/", ROOT.resolve("configs/corpus") + "/"));
      MainTest.Result r =
          MainTest.run(
              "edit",
              "--model",
              MODEL,
              "--hparams",
              hp.toString(),
              "--data",
              DATA,
              "--ds-size",
              "2",
              "--no-fluency",
              "--batch-size",
              c[1].equals("R-ROME") ? "1" : "2");
      assertThat(r.code()).as(c[0] + ": " + r.err()).isZero();
      assertThat(r.out())
          .as(c[0])
          .startsWith("nanscope edit: " + c[1] + ", 2 record(s)")
          .contains("New weights successfully inserted into ['" + c[2]);
      assertThat(r.out()).as(c[0]).contains("Edit Succ.");
    }
    MainTest.Result batch =
        MainTest.run(
            "edit",
            "--model",
            MODEL,
            "--hparams",
            HPARAMS,
            "--data",
            DATA,
            "--ds-size",
            "2",
            "--no-fluency",
            "--batch-size",
            "2");
    assertThat(batch.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(batch.err()).contains("ROME edits one request per update");
  }

  @Test
  void badInputIsOneLineAndExitTwo(@TempDir Path tmp) {
    MainTest.Result missing =
        MainTest.run(
            "edit",
            "--model",
            MODEL,
            "--hparams",
            HPARAMS,
            "--data",
            tmp.resolve("nope.json").toString());
    assertThat(missing.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(missing.err().strip().lines().toList())
        .singleElement()
        .asString()
        .contains("nope.json");
    MainTest.Result zero =
        MainTest.run(
            "edit", "--model", MODEL, "--hparams", HPARAMS, "--data", DATA, "--ds-size", "0");
    assertThat(zero.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(zero.err().strip().lines().toList())
        .singleElement()
        .asString()
        .contains("--ds-size");
  }

  /**
   * FT-M in FP16 writes inf at the first edit (PyTorch-style FP16 Adam); the fluency generation
   * then raises the multinomial error, and {@code edit} stops with one line and exit code 1, as
   * EasyEdit's run stops. {@code --sequential --eval-at-end} needs {@code --sequential}.
   */
  @Test
  void aNonFiniteEditStopsAtTheMultinomialErrorWithOneLine() {
    Path root = Path.of(HPARAMS).getParent().getParent();
    MainTest.Result r =
        MainTest.run(
            "edit",
            "--model",
            MODEL,
            "--hparams",
            root.resolve("ft/stories260K-ftm.yaml").toString(),
            "--data",
            DATA,
            "--ds-size",
            "1",
            "--policy",
            "pytorch-fp16");
    assertThat(r.code()).as(r.err()).isEqualTo(1);
    assertThat(r.err().lines().filter(l -> l.startsWith("nanscope edit:")).toList())
        .singleElement()
        .satisfies(l ->
            assertThat(l)
                .startsWith(
                    "nanscope edit: RuntimeError: probability tensor contains either `inf`,"));
    MainTest.Result bad =
        MainTest.run(
            "edit",
            "--model",
            MODEL,
            "--hparams",
            HPARAMS,
            "--data",
            DATA,
            "--eval-at-end",
            "--ds-size",
            "1");
    assertThat(bad.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(bad.err()).contains("add --sequential");
  }
}
