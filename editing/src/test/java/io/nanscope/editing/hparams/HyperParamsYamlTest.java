package io.nanscope.editing.hparams;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.editing.RepoPaths;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HyperParamsYamlTest {

  /**
   * docs/reference/easyedit.md §5, hparams/ROME/llama-7b.yaml at HEAD, typed in by hand
   * (independent of the file).
   */
  private static final Map<String, Object> ROME_LLAMA_7B = new LinkedHashMap<>();

  static {
    ROME_LLAMA_7B.put("alg_name", "ROME");
    ROME_LLAMA_7B.put("model_name", "./hugging_cache/llama-2-7b-chat");
    ROME_LLAMA_7B.put("stats_dir", "./data/stats");
    ROME_LLAMA_7B.put("device", 0);
    ROME_LLAMA_7B.put("layers", List.of(5));
    ROME_LLAMA_7B.put("fact_token", "subject_last");
    ROME_LLAMA_7B.put("v_num_grad_steps", 25);
    ROME_LLAMA_7B.put("v_lr", 0.5);
    ROME_LLAMA_7B.put("v_loss_layer", 31);
    ROME_LLAMA_7B.put("v_weight_decay", 1e-3);
    ROME_LLAMA_7B.put("clamp_norm_factor", 4);
    ROME_LLAMA_7B.put("kl_factor", 0.0625);
    ROME_LLAMA_7B.put("mom2_adjustment", false);
    ROME_LLAMA_7B.put("context_template_length_params", List.of(List.of(5, 10), List.of(10, 10)));
    ROME_LLAMA_7B.put("rewrite_module_tmp", "model.layers.{}.mlp.down_proj");
    ROME_LLAMA_7B.put("layer_module_tmp", "model.layers.{}");
    ROME_LLAMA_7B.put("mlp_module_tmp", "model.layers.{}.mlp");
    ROME_LLAMA_7B.put("attn_module_tmp", "model.layers.{}.self_attn");
    ROME_LLAMA_7B.put("ln_f_module", "model.norm");
    ROME_LLAMA_7B.put("lm_head_module", "lm_head");
    ROME_LLAMA_7B.put("mom2_dataset", "wikipedia");
    ROME_LLAMA_7B.put("mom2_n_samples", 100000);
    ROME_LLAMA_7B.put("mom2_dtype", "float32");
    ROME_LLAMA_7B.put("model_parallel", false);
  }

  private static Path config(String name) {
    return RepoPaths.inRepo("configs/" + name);
  }

  /**
   * YAML numbers come back as Integer/Long/Double depending on spelling; compare them as doubles.
   */
  private static Object normalise(Object v) {
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    if (v instanceof List<?> list) {
      return list.stream().map(HyperParamsYamlTest::normalise).toList();
    }
    return v;
  }

  private static Map<String, Object> normalise(Map<String, Object> m) {
    Map<String, Object> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, normalise(v)));
    return out;
  }

  @Test
  void easyEditRomeLlamaFileHasExactlyTheValuesOfTheReference() throws IOException {
    Map<String, Object> raw = HyperParamsYaml.readRaw(config("rome/llama-7b.yaml"));
    assertThat(normalise(raw)).isEqualTo(normalise(ROME_LLAMA_7B));
  }

  @Test
  void easyEditRomeLlamaLoadsIntoTypedFieldsWithoutWarnings() throws IOException {
    LoadedHparams<RomeHyperParams> loaded = HyperParamsYaml.readRome(config("rome/llama-7b.yaml"));
    RomeHyperParams p = loaded.hparams();
    assertThat(loaded.warnings()).isEmpty();
    assertThat(p.layers()).containsExactly(5);
    assertThat(p.valueOptimization())
        .isEqualTo(new ValueOptimization(25, 0.5, 31, 1e-3, 4, 0.0625));
    assertThat(p.secondMoment())
        .isEqualTo(new SecondMomentSettings(false, "wikipedia", 100000, "float32"));
    assertThat(p.contextTemplateLengthParams()).containsExactly(List.of(5, 10), List.of(10, 10));
    assertThat(ModuleTemplates.atLayer(p.modules().rewriteModule(), 5))
        .isEqualTo("model.layers.5.mlp.down_proj");
    assertThat(p.fp16())
        .as("fp16 is commented out at HEAD, so EasyEdit's default false applies")
        .isFalse();
    assertThat(p.maxLength()).isEqualTo(40);
  }

  /** target_tokens is nanscope's: absent means EasyEdit's; written back only when it differs. */
  @Test
  void targetTokensExtensionDefaultsToEasyEditAndIsChecked() throws IOException {
    String yaml = java.nio.file.Files.readString(config("rome/stories260K.yaml"));
    RomeHyperParams plain = HyperParamsYaml.parseRome("plain", yaml).hparams();
    assertThat(plain.valueOptimization().targetTokens()).isEqualTo(TargetTokens.EASYEDIT);
    assertThat(plain.toYaml()).doesNotContainKey("target_tokens");
    LoadedHparams<RomeHyperParams> inContext =
        HyperParamsYaml.parseRome("ext", yaml + "\ntarget_tokens: in_context\n");
    assertThat(inContext.warnings()).isEmpty();
    assertThat(inContext.hparams().valueOptimization().targetTokens())
        .isEqualTo(TargetTokens.IN_CONTEXT);
    assertThat(inContext.hparams().toYaml()).containsEntry("target_tokens", "in_context");
    assertThatThrownBy(
            () -> HyperParamsYaml.parseRome("bad.yaml", yaml + "\ntarget_tokens: joint\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "bad.yaml: key 'target_tokens': expected one of [easyedit, in_context], got \"joint\"");
  }

  /** The in-context file is the stories260K file with target_tokens changed, and nothing else. */
  @Test
  void inContextFileDiffersFromTheEmbeddedModelsFileOnlyInTargetTokens() throws IOException {
    RomeHyperParams base = HyperParamsYaml.readRome(config("rome/stories260K.yaml")).hparams();
    LoadedHparams<RomeHyperParams> in =
        HyperParamsYaml.readRome(config("rome/stories260K-in-context.yaml"));
    assertThat(in.warnings()).isEmpty();
    Map<String, Object> expected = new LinkedHashMap<>(base.toYaml());
    expected.put("target_tokens", "in_context");
    assertThat(in.hparams().toYaml()).isEqualTo(expected);
  }

  /**
   * Every key of the file comes back with its value from the record (nothing dropped or altered).
   */
  @Test
  void everyKeyOfEveryShippedFileRoundTrips() throws IOException {
    for (String name :
        List.of(
            "rome/llama-7b.yaml",
            "rome/stories260K.yaml",
            "rome/stories260K-in-context.yaml",
            "memit/llama-7b.yaml",
            "ft/llama-7b.yaml",
            "memit/stories260K.yaml",
            "alphaedit/llama-7b.yaml",
            "alphaedit/stories260K.yaml",
            "ft/stories260K.yaml",
            "ft/stories260K-ftm.yaml",
            "r-rome/llama-7b.yaml",
            "r-rome/stories260K.yaml")) {
      Path file = config(name);
      LoadedHparams<? extends EditHyperParams> loaded = HyperParamsYaml.read(file);
      assertThat(loaded.warnings()).as(name).isEmpty();
      Map<String, Object> raw = normalise(HyperParamsYaml.readRaw(file));
      Map<String, Object> fromRecord = normalise(loaded.hparams().toYaml());
      assertThat(fromRecord).as(name).containsAllEntriesOf(raw);
      // and through text: write, read back, equal record
      String text = HyperParamsYaml.write(loaded.hparams());
      Path tmp = java.nio.file.Files.createTempFile("hparams", ".yaml");
      try {
        java.nio.file.Files.writeString(tmp, text);
        assertThat(HyperParamsYaml.read(tmp).hparams()).as(name).isEqualTo(loaded.hparams());
      } finally {
        java.nio.file.Files.delete(tmp);
      }
    }
  }

  @Test
  void stories260KFileHasTheValuesChosenForTheEmbeddedModel() throws IOException {
    LoadedHparams<RomeHyperParams> loaded =
        HyperParamsYaml.readRome(config("rome/stories260K.yaml"));
    RomeHyperParams p = loaded.hparams();
    assertThat(p.layers()).containsExactly(1);
    assertThat(p.valueOptimization().lossLayer()).isEqualTo(4);
    assertThat(p.fp16()).isFalse();
    assertThat(p.secondMoment().dataset()).isEqualTo("configs/corpus/tinystories-corpus.txt");
    assertThat(RepoPaths.inRepo(p.secondMoment().dataset())).exists();
    assertThat(
            io.nanscope.editing.stats.TextCorpus.read(RepoPaths.inRepo(p.secondMoment().dataset()))
                .texts())
        .as("mom2_n_samples is the size of the bundled corpus")
        .hasSize((int) p.secondMoment().nSamples());
  }

  @Test
  void memitAndFtFilesLoad() throws IOException {
    MemitHyperParams memit = HyperParamsYaml.readMemit(config("memit/llama-7b.yaml")).hparams();
    assertThat(memit.layers()).containsExactly(4, 5, 6, 7, 8);
    assertThat(memit.mom2UpdateWeight()).isEqualTo(15000.0);
    assertThat(memit.secondMoment().adjustment()).isTrue();
    FtHyperParams ft = HyperParamsYaml.readFt(config("ft/llama-7b.yaml")).hparams();
    assertThat(ft.layers()).containsExactly(21);
    assertThat(ft.lr()).isEqualTo(5e-4);
    assertThat(ft.normConstraint()).isEmpty();
    assertThat(ft.objectiveOptimization()).isEqualTo("prompt_last");
  }

  @Test
  void alphaEditFilesLoadWithEasyEditsValues() throws IOException {
    // EasyEdit hparams/AlphaEdit/llama3-8b.yaml (the closest Llama file; none exists for Llama-2)
    AlphaEditHyperParams a =
        HyperParamsYaml.readAlphaEdit(config("alphaedit/llama-7b.yaml")).hparams();
    assertThat(a.layers()).containsExactly(4, 5, 6, 7, 8);
    assertThat(a.nullspaceThreshold()).isEqualTo(2e-2);
    assertThat(a.l2()).isEqualTo(1.0);
    assertThat(a.valueOptimization().clampNormFactor()).isEqualTo(0.75);
    assertThat(a.valueOptimization().lr()).isEqualTo(0.1);
    assertThat(a.valueOptimization().weightDecay()).isEqualTo(0.5);
    assertThat(a.pLoc()).isEqualTo("./null_space_project.pt");
    AlphaEditHyperParams small =
        HyperParamsYaml.readAlphaEdit(config("alphaedit/stories260K.yaml")).hparams();
    MemitHyperParams memit = HyperParamsYaml.readMemit(config("memit/stories260K.yaml")).hparams();
    assertThat(small.layers()).as("AlphaEdit edits MEMIT's layers").isEqualTo(memit.layers());
    assertThatThrownBy(() -> HyperParamsYaml.readMemit(config("alphaedit/llama-7b.yaml")))
        .hasMessageContaining("'alg_name' is \"AlphaEdit\"");
  }

  /**
   * EasyEdit's hparams/R-ROME/llama-7b.yaml (HEAD 14cea82) differs from the ROME reference above in
   * alg_name, model_name and fp16: true (read from the upstream file); its R-ROME keys are absent,
   * so EasyEdit's defaults apply.
   */
  @Test
  void rRomeLlamaFileHasEasyEditsValuesAndDefaults() throws IOException {
    Map<String, Object> expected = new LinkedHashMap<>(ROME_LLAMA_7B);
    expected.put("alg_name", "R-ROME");
    expected.put("model_name", "./hugging_cache/llama-2-7b");
    expected.put("fp16", true);
    Path file = config("r-rome/llama-7b.yaml");
    assertThat(normalise(HyperParamsYaml.readRaw(file))).isEqualTo(normalise(expected));
    LoadedHparams<RomeHyperParams> loaded = HyperParamsYaml.readRome(file);
    assertThat(loaded.warnings()).isEmpty();
    assertThat(loaded.hparams().rRome()).hasValue(RRomeKeys.DEFAULTS);
    assertThat(RRomeKeys.DEFAULTS.templateKeyForU()).isTrue();
    assertThat(RRomeKeys.DEFAULTS.templateKeyInUpdate()).isTrue();
    assertThat(HyperParamsYaml.read(file).hparams()).isEqualTo(loaded.hparams());
  }

  /** The embedded model's R-ROME file is its ROME file with alg_name R-ROME (and the defaults). */
  @Test
  void rRomeStories260KDiffersFromRomeOnlyInTheAlgorithm() throws IOException {
    RomeHyperParams rome = HyperParamsYaml.readRome(config("rome/stories260K.yaml")).hparams();
    LoadedHparams<RomeHyperParams> r = HyperParamsYaml.readRome(config("r-rome/stories260K.yaml"));
    assertThat(r.warnings()).isEmpty();
    Map<String, Object> expected = new LinkedHashMap<>(rome.toYaml());
    expected.put("alg_name", "R-ROME");
    RRomeKeys.DEFAULTS.putInto(expected);
    assertThat(r.hparams().toYaml()).isEqualTo(expected);
    // ROME files do not take R-ROME's keys: they would be unknown there
    String withKey = romeYamlWith("model_parallel", "enable_prompt_keys: true");
    assertThat(HyperParamsYaml.parseRome("x.yaml", withKey).warnings())
        .singleElement()
        .asString()
        .contains("'enable_prompt_keys'");
  }

  @Test
  void rRomeKeyOptionsAreCheckedAsEasyEditAsserts() {
    String base = romeYamlWith("alg_name", "alg_name: \"R-ROME\"");
    assertThatThrownBy(
            () -> HyperParamsYaml.parseRome("r.yaml", base + "enable_prompt_keys: true\n"))
        .hasMessageContaining("r.yaml: key 'enable_prompt_keys'")
        .hasMessageContaining("exactly one");
    RomeHyperParams orig =
        HyperParamsYaml.parseRome(
                "r.yaml",
                base + "enable_random_prefix_keys: false\noriginal_implementation: true\n")
            .hparams();
    assertThat(orig.rRome().orElseThrow().templateKeyForU()).isTrue();
    assertThat(orig.rRome().orElseThrow().templateKeyInUpdate()).isFalse();
    assertThat(orig.rRome().orElseThrow().methodName()).isNull();
  }

  /** FT-M's file is FT-L's with the objective changed, and nothing else. */
  @Test
  void ftmFileDiffersFromTheFtlFileOnlyInTheObjective() throws IOException {
    FtHyperParams ftl = HyperParamsYaml.readFt(config("ft/stories260K.yaml")).hparams();
    FtHyperParams ftm = HyperParamsYaml.readFt(config("ft/stories260K-ftm.yaml")).hparams();
    assertThat(ftl.objectiveOptimization()).isEqualTo("prompt_last");
    Map<String, Object> expected = new LinkedHashMap<>(ftl.toYaml());
    expected.put("objective_optimization", "target_new");
    assertThat(ftm.toYaml()).isEqualTo(expected);
    // EasyEdit's values except model and layer
    FtHyperParams llama = HyperParamsYaml.readFt(config("ft/llama-7b.yaml")).hparams();
    Map<String, Object> same = new LinkedHashMap<>(llama.toYaml());
    same.put("model_name", ftl.modelName());
    same.put("layers", List.of(3));
    assertThat(ftl.toYaml()).isEqualTo(same);
  }

  private static String romeYamlWith(String replaceKey, String newLine) {
    StringBuilder sb = new StringBuilder();
    ROME_LLAMA_7B.forEach((k, v) -> {
      if (k.equals(replaceKey)) {
        if (newLine != null) {
          sb.append(newLine).append('\n');
        }
      } else {
        sb.append(k).append(": ").append(yamlValue(v)).append('\n');
      }
    });
    return sb.toString();
  }

  private static String yamlValue(Object v) {
    return v instanceof String s ? "\"" + s + "\"" : v.toString();
  }

  @Test
  void unknownKeysAreReportedNotDropped() {
    String yaml = romeYamlWith("fp16", null) + "fp61: true\nbatch_size: 4\n";
    LoadedHparams<RomeHyperParams> loaded = HyperParamsYaml.parseRome("test.yaml", yaml);
    assertThat(loaded.warnings()).hasSize(2);
    assertThat(loaded.warnings().get(0)).contains("test.yaml", "'fp61'", "true", "spelling");
    assertThat(loaded.warnings().get(1)).contains("'batch_size'");
  }

  @Test
  void missingRequiredKeyNamesFileAndKey() {
    assertThatThrownBy(() -> HyperParamsYaml.parseRome("my.yaml", romeYamlWith("v_lr", null)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("my.yaml")
        .hasMessageContaining("missing required key 'v_lr'");
  }

  @Test
  void wrongTypesNameFileAndKey() {
    assertThatThrownBy(
            () -> HyperParamsYaml.parseRome("a.yaml", romeYamlWith("v_lr", "v_lr: fast")))
        .hasMessageContaining("a.yaml: key 'v_lr': expected a number, got the string \"fast\"");
    assertThatThrownBy(
            () -> HyperParamsYaml.parseRome("a.yaml", romeYamlWith("layers", "layers: 5")))
        .hasMessageContaining("a.yaml: key 'layers': expected a non-empty list");
    assertThatThrownBy(() ->
            HyperParamsYaml.parseRome(
                "a.yaml", romeYamlWith("v_num_grad_steps", "v_num_grad_steps: 2.5")))
        .hasMessageContaining("key 'v_num_grad_steps': expected an integer");
    assertThatThrownBy(() ->
            HyperParamsYaml.parseRome(
                "a.yaml", romeYamlWith("mom2_adjustment", "mom2_adjustment: 1")))
        .hasMessageContaining("key 'mom2_adjustment': expected true or false");
    assertThatThrownBy(() ->
            HyperParamsYaml.parseRome(
                "a.yaml",
                romeYamlWith(
                    "context_template_length_params",
                    "context_template_length_params: [[5, 10, 3]]")))
        .hasMessageContaining("key 'context_template_length_params'");
    assertThatThrownBy(() ->
            HyperParamsYaml.parseRome(
                "a.yaml", romeYamlWith("fact_token", "fact_token: \"subject\"")))
        .hasMessageContaining("key 'fact_token': \"subject\" is not one of");
    assertThatThrownBy(() ->
            HyperParamsYaml.parseRome("a.yaml", romeYamlWith("alg_name", "alg_name: \"MEMIT\"")))
        .hasMessageContaining("alg_name");
    assertThatThrownBy(() ->
            HyperParamsYaml.parseRome(
                "a.yaml",
                romeYamlWith("rewrite_module_tmp", "rewrite_module_tmp: \"model.layers.5.mlp\"")))
        .hasMessageContaining("key 'rewrite_module_tmp'")
        .hasMessageContaining("{}");
    assertThatThrownBy(() -> HyperParamsYaml.parseRome("a.yaml", "layers: [5\n"))
        .hasMessageContaining("a.yaml: not valid YAML");
    assertThatThrownBy(() -> HyperParamsYaml.parseRome("a.yaml", "- 1\n- 2\n"))
        .hasMessageContaining("expected a YAML mapping");
  }

  /** EasyEdit converts scientific-notation strings (PyYAML reads 5e-1 as a string) to floats. */
  @Test
  void quotedScientificNotationIsANumberAsInEasyEdit() {
    RomeHyperParams p =
        HyperParamsYaml.parseRome("q.yaml", romeYamlWith("v_lr", "v_lr: \"5e-1\"")).hparams();
    assertThat(p.valueOptimization().lr()).isEqualTo(0.5);
  }

  @Test
  void fp16TrueIsRead() {
    RomeHyperParams p =
        HyperParamsYaml.parseRome("f.yaml", romeYamlWith("model_parallel", "fp16: true")).hparams();
    assertThat(p.fp16()).isTrue();
    assertThat(p.modelParallel()).isFalse();
  }
}
