package io.nanscope.editing.hparams;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Reads EasyEdit hparams YAML files as they are (e.g. {@code hparams/ROME/llama-7b.yaml}) into
 * typed records, and writes records back as YAML with EasyEdit's keys.
 *
 * <p>Unknown keys never disappear silently: they come back as {@link LoadedHparams#warnings()}. A
 * missing required key, a value of the wrong type, or an {@code alg_name} for another algorithm is
 * an {@link IllegalArgumentException} naming the file and the key.
 */
public final class HyperParamsYaml {

  /** Duplicate keys are refused (YAML says keys are unique; a second value would silently win). */
  private static final YAMLMapper YAML =
      YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

  /** EasyEdit's files are about 1 KB; anything above this is not a hyperparameter file. */
  static final long MAX_FILE_BYTES = 1 << 20;

  private HyperParamsYaml() {}

  /** Reads a ROME or R-ROME file ({@code alg_name} "ROME" or "R-ROME"). */
  public static LoadedHparams<RomeHyperParams> readRome(Path file) throws IOException {
    JsonNode root = parse(file.toString(), Files.readString(file));
    return bind(file.toString(), root, romeVariant(root), RomeHyperParams::read);
  }

  /** Reads a MEMIT file. */
  public static LoadedHparams<MemitHyperParams> readMemit(Path file) throws IOException {
    return read(file, "MEMIT", MemitHyperParams::read);
  }

  /** Reads an AlphaEdit file. */
  public static LoadedHparams<AlphaEditHyperParams> readAlphaEdit(Path file) throws IOException {
    return read(file, "AlphaEdit", AlphaEditHyperParams::read);
  }

  /** Reads an FT file. */
  public static LoadedHparams<FtHyperParams> readFt(Path file) throws IOException {
    return read(file, "FT", FtHyperParams::read);
  }

  /** Reads any supported file, choosing the record by its {@code alg_name}. */
  public static LoadedHparams<? extends EditHyperParams> read(Path file) throws IOException {
    JsonNode root = parse(file.toString(), readText(file));
    JsonNode alg = root == null ? null : root.get("alg_name");
    String name = alg != null && alg.isString() ? alg.stringValue() : null;
    if (name == null) {
      throw new IllegalArgumentException(
          file
              + ": missing required key 'alg_name' (one of ROME, R-ROME, MEMIT, FT, AlphaEdit)"
              + " that says which algorithm this is");
    }
    return switch (name) {
      case "ROME" -> bind(file.toString(), root, "ROME", RomeHyperParams::read);
      case RomeHyperParams.R_ROME ->
          bind(file.toString(), root, RomeHyperParams.R_ROME, RomeHyperParams::read);
      case "MEMIT" -> bind(file.toString(), root, "MEMIT", MemitHyperParams::read);
      case "FT" -> bind(file.toString(), root, "FT", FtHyperParams::read);
      case "AlphaEdit" -> bind(file.toString(), root, "AlphaEdit", AlphaEditHyperParams::read);
      default ->
          throw new IllegalArgumentException(
              file
                  + ": key 'alg_name': \""
                  + name
                  + "\" is not supported; expected ROME, R-ROME, MEMIT, FT or AlphaEdit");
    };
  }

  /**
   * Parses ROME or R-ROME YAML text (for tests and in-memory configs); {@code source} names it in
   * messages.
   */
  public static LoadedHparams<RomeHyperParams> parseRome(String source, String yaml) {
    JsonNode root = parse(source, yaml);
    return bind(source, root, romeVariant(root), RomeHyperParams::read);
  }

  /** Parses FT YAML text (for tests and in-memory configs). */
  public static LoadedHparams<FtHyperParams> parseFt(String source, String yaml) {
    return bind(source, parse(source, yaml), "FT", FtHyperParams::read);
  }

  /** "R-ROME" when the document says so, else "ROME" (whose check names any other alg_name). */
  private static String romeVariant(JsonNode root) {
    JsonNode alg = root == null || !root.isObject() ? null : root.get("alg_name");
    return alg != null && alg.isString() && alg.stringValue().equals(RomeHyperParams.R_ROME)
        ? RomeHyperParams.R_ROME
        : "ROME";
  }

  /** Serialises a record with EasyEdit's keys; reading the text back gives an equal record. */
  public static String write(EditHyperParams hparams) {
    return YAML.writeValueAsString(hparams.toYaml());
  }

  /** The file's top-level keys and values as plain Java objects (for round-trip checks). */
  public static Map<String, Object> readRaw(Path file) throws IOException {
    JsonNode root = parse(file.toString(), readText(file));
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(file + ": expected a YAML mapping of key: value lines");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> raw = YAML.convertValue(root, Map.class);
    return raw;
  }

  private static <T extends EditHyperParams> LoadedHparams<T> read(
      Path file, String algorithm, Function<HparamsFields, T> reader) throws IOException {
    return bind(file.toString(), parse(file.toString(), readText(file)), algorithm, reader);
  }

  private static <T extends EditHyperParams> LoadedHparams<T> bind(
      String source, JsonNode root, String algorithm, Function<HparamsFields, T> reader) {
    HparamsFields fields = new HparamsFields(source, algorithm, root);
    T hparams = reader.apply(fields);
    return new LoadedHparams<>(source, hparams, fields.unknownKeyWarnings());
  }

  /**
   * The text of a small regular file: a FIFO, a device or a huge file is refused before reading
   * (reading /dev/urandom would never end, a FIFO would block).
   */
  static String readText(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(
          file
              + ": not a regular file (a directory, FIFO or device?)"
              + "; give the path of a YAML file");
    }
    long size = Files.size(file);
    if (size > MAX_FILE_BYTES) {
      throw new IllegalArgumentException(
          file
              + ": "
              + size
              + " bytes is too large for a"
              + " hyperparameter or policy file (at most "
              + MAX_FILE_BYTES
              + "): is this the right file?");
    }
    try {
      return Files.readString(file);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new IllegalArgumentException(file + ": not UTF-8 text; give a YAML file");
    }
  }

  private static JsonNode parse(String source, String text) {
    try {
      return YAML.readTree(text);
    } catch (JacksonException e) {
      throw new IllegalArgumentException(
          source
              + ": not valid YAML ("
              + e.getOriginalMessage()
              + "); EasyEdit hparams are key: value lines",
          e);
    }
  }

  /** Checks shared by every algorithm: non-negative layers, module templates with a {} slot. */
  static void checkCommon(HparamsFields f, List<Integer> layers, ModuleTemplates modules) {
    for (int layer : layers) {
      if (layer < 0) {
        throw f.invalid("layers", "layer " + layer + " is negative; layers count from 0");
      }
    }
    Map<String, String> templated =
        Map.of(
            "rewrite_module_tmp", modules.rewriteModule(),
            "layer_module_tmp", modules.layerModule(),
            "mlp_module_tmp", modules.mlpModule(),
            "attn_module_tmp", modules.attnModule());
    if (!modules.rewriteModule().replace(".weight", "").endsWith("mlp.down_proj")) {
      throw f.invalid(
          "rewrite_module_tmp",
          "\""
              + modules.rewriteModule()
              + "\" is not an MLP"
              + " down projection: nanscope edits model.layers.{}.mlp.down_proj (as EasyEdit's Llama files)");
    }
    for (Map.Entry<String, String> e : templated.entrySet()) {
      if (!e.getValue().contains("{}")) {
        throw f.invalid(
            e.getKey(),
            "\"" + e.getValue() + "\" has no {} for the layer index, e.g. model.layers.{}.mlp");
      }
    }
  }
}
