package io.nanscope.editing.hparams;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import tools.jackson.databind.JsonNode;

/**
 * Typed, checked access to the top-level keys of one EasyEdit hparams file. Every key that is read
 * is consumed; what is left at the end is reported by {@link #unknownKeyWarnings()} so nothing is
 * dropped silently.
 *
 * <p>Numbers follow EasyEdit's {@code HyperParams.construct_float_from_scientific_notation}: PyYAML
 * (YAML 1.1) reads {@code 5e-1} as the string "5e-1" and EasyEdit converts such strings to float,
 * so a string that parses as a number is accepted where a float is expected.
 */
final class HparamsFields {

  private final String source;
  private final String algorithm;
  private final Map<String, JsonNode> remaining = new LinkedHashMap<>();

  HparamsFields(String source, String algorithm, JsonNode root) {
    this.source = source;
    this.algorithm = algorithm;
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException(
          source
              + ": expected a YAML mapping of hyperparameters (key: value lines), got "
              + (root == null || root.isMissingNode() ? "an empty document" : root.getNodeType()));
    }
    for (Map.Entry<String, JsonNode> e : root.properties()) {
      remaining.put(e.getKey(), e.getValue());
    }
  }

  String source() {
    return source;
  }

  private JsonNode take(String key) {
    JsonNode node = remaining.remove(key);
    if (node == null) {
      throw new IllegalArgumentException(
          source
              + ": missing required key '"
              + key
              + "' for "
              + algorithm
              + " (see EasyEdit's hparams/"
              + algorithm
              + "/*.yaml for its meaning)");
    }
    return node;
  }

  boolean has(String key) {
    return remaining.containsKey(key);
  }

  private IllegalArgumentException wrongType(String key, String expected, JsonNode got) {
    return new IllegalArgumentException(
        source + ": key '" + key + "': expected " + expected + ", got " + describe(got));
  }

  private static String describe(JsonNode node) {
    return switch (node.getNodeType()) {
      case STRING -> "the string \"" + node.stringValue() + "\"";
      case NULL -> "null (an empty value)";
      default -> node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT) + " " + node;
    };
  }

  String requiredString(String key) {
    return string(key, take(key));
  }

  String optionalString(String key, String fallback) {
    return has(key) ? requiredString(key) : fallback;
  }

  private String string(String key, JsonNode node) {
    if (!node.isString()) {
      throw wrongType(key, "a string", node);
    }
    return node.stringValue();
  }

  boolean requiredBoolean(String key) {
    JsonNode node = take(key);
    if (!node.isBoolean()) {
      throw wrongType(key, "true or false", node);
    }
    return node.booleanValue();
  }

  boolean optionalBoolean(String key, boolean fallback) {
    return has(key) ? requiredBoolean(key) : fallback;
  }

  long requiredLong(String key) {
    return integral(key, take(key));
  }

  int requiredInt(String key) {
    return toInt(key, take(key));
  }

  int optionalInt(String key, int fallback) {
    return has(key) ? requiredInt(key) : fallback;
  }

  private int toInt(String key, JsonNode node) {
    long v = integral(key, node);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw wrongType(key, "an integer within 32 bits", node);
    }
    return (int) v;
  }

  private long integral(String key, JsonNode node) {
    if (!node.isIntegralNumber() || !node.canConvertToLong()) {
      throw wrongType(key, "an integer", node);
    }
    return node.longValue();
  }

  double requiredDouble(String key) {
    return number(key, take(key));
  }

  private double number(String key, JsonNode node) {
    if (node.isNumber()) {
      return node.doubleValue();
    }
    if (node.isString()) {
      try {
        return Double.parseDouble(node.stringValue().strip());
      } catch (NumberFormatException e) {
        // fall through to the error below
      }
    }
    throw wrongType(key, "a number", node);
  }

  /**
   * {@code false} means "not set" (EasyEdit's FT {@code norm_constraint: false}); a float sets it.
   * An integer is refused: EasyEdit tests {@code type(norm_constraint) is float}, so {@code 1}
   * would silently mean "no constraint" there.
   */
  OptionalDouble requiredFalseOrDouble(String key) {
    JsonNode node = take(key);
    if (node.isBoolean()) {
      if (node.booleanValue()) {
        throw wrongType(key, "false or a number", node);
      }
      return OptionalDouble.empty();
    }
    if (node.isIntegralNumber()) {
      throw new IllegalArgumentException(
          source
              + ": key '"
              + key
              + "': "
              + node
              + " is an integer, which EasyEdit ignores (it"
              + " applies "
              + key
              + " only when it is a float): write "
              + node
              + ".0 to apply it or false for none");
    }
    return OptionalDouble.of(number(key, node));
  }

  List<Integer> requiredIntList(String key) {
    JsonNode node = take(key);
    if (!node.isArray() || node.isEmpty()) {
      throw wrongType(key, "a non-empty list of integers such as [5]", node);
    }
    List<Integer> out = new ArrayList<>();
    for (JsonNode item : node.values()) {
      out.add(toInt(key, item));
    }
    return List.copyOf(out);
  }

  List<List<Integer>> requiredIntPairs(String key) {
    JsonNode node = take(key);
    if (!node.isArray() || node.isEmpty()) {
      throw wrongType(
          key, "a non-empty list of [length, count] pairs such as [[5, 10], [10, 10]]", node);
    }
    List<List<Integer>> out = new ArrayList<>();
    for (JsonNode pair : node.values()) {
      if (!pair.isArray() || pair.size() != 2) {
        throw wrongType(key, "[length, count] pairs of two integers", pair);
      }
      int length = toInt(key, pair.get(0));
      int count = toInt(key, pair.get(1));
      if (length < 1 || length > 1024 || count < 1 || count > 1000) {
        throw invalid(
            key,
            "["
                + length
                + ", "
                + count
                + "] is out of range: a context template has"
                + " 1 to 1024 tokens and each length 1 to 1000 samples (EasyEdit: [[5, 10], [10, 10]])");
      }
      out.add(List.of(length, count));
    }
    return List.copyOf(out);
  }

  ModuleTemplates moduleTemplates() {
    return new ModuleTemplates(
        requiredString("rewrite_module_tmp"),
        requiredString("layer_module_tmp"),
        requiredString("mlp_module_tmp"),
        requiredString("attn_module_tmp"),
        requiredString("ln_f_module"),
        requiredString("lm_head_module"));
  }

  ValueOptimization valueOptimization() {
    return new ValueOptimization(
        intInRange("v_num_grad_steps", 1, MAX_STEPS),
        positiveFinite("v_lr"),
        intInRange("v_loss_layer", 0, Integer.MAX_VALUE),
        nonNegativeFinite("v_weight_decay"),
        positiveFinite("clamp_norm_factor"),
        nonNegativeFinite("kl_factor"),
        TargetTokens.parse(source, optionalString("target_tokens", TargetTokens.EASYEDIT.key())));
  }

  SecondMomentSettings secondMoment() {
    boolean adjust = requiredBoolean("mom2_adjustment");
    String dataset = requiredString("mom2_dataset");
    long samples = requiredLong("mom2_n_samples");
    if (samples < 1) {
      throw invalid("mom2_n_samples", samples + " texts: the key statistics need at least 1");
    }
    String dtype = requiredString("mom2_dtype");
    if (!MOM2_DTYPES.contains(dtype)) {
      throw invalid("mom2_dtype", "\"" + dtype + "\" is not supported: use float32 or float64");
    }
    return new SecondMomentSettings(adjust, dataset, samples, dtype);
  }

  /** Optimisation steps beyond this are a typo, not a setting (EasyEdit's files use 20–500). */
  static final int MAX_STEPS = 100_000;

  private static final List<String> MOM2_DTYPES = List.of("float32", "float64");

  /** An integer key within [lo, hi], else a one-line error naming the range. */
  int intInRange(String key, int lo, int hi) {
    int v = requiredInt(key);
    if (v < lo || v > hi) {
      throw invalid(
          key,
          v
              + " is out of range: expected "
              + lo
              + (hi == Integer.MAX_VALUE ? " or more" : " to " + hi));
    }
    return v;
  }

  double positiveFinite(String key) {
    double v = requiredDouble(key);
    if (!(v > 0) || Double.isInfinite(v)) {
      throw invalid(key, v + ": expected a finite number above 0");
    }
    return v;
  }

  double nonNegativeFinite(String key) {
    double v = requiredDouble(key);
    if (!(v >= 0) || Double.isInfinite(v)) {
      throw invalid(key, v + ": expected a finite number, 0 or more");
    }
    return v;
  }

  /** {@code fact_token}, one of the values ROME's {@code repr_tools} understands. */
  String factToken() {
    String token = requiredString("fact_token");
    if (!RomeHyperParams.FACT_TOKENS.contains(token)) {
      throw invalid("fact_token", "\"" + token + "\" is not one of " + RomeHyperParams.FACT_TOKENS);
    }
    return token;
  }

  /**
   * Checks {@code alg_name} equals the expected algorithm, as EasyEdit's {@code from_hparams}
   * asserts.
   */
  String algName() {
    String name = requiredString("alg_name");
    if (!name.equals(algorithm)) {
      throw new IllegalArgumentException(
          source
              + ": key 'alg_name' is \""
              + name
              + "\" but this file is being read as "
              + algorithm
              + " hyperparameters: pass it to the reader for "
              + name
              + " or fix alg_name");
    }
    return name;
  }

  /** One warning per key no field consumed, in file order. */
  List<String> unknownKeyWarnings() {
    List<String> warnings = new ArrayList<>();
    for (Map.Entry<String, JsonNode> e : remaining.entrySet()) {
      warnings.add(
          source
              + ": unknown key '"
              + e.getKey()
              + "' (value "
              + e.getValue()
              + ") is not a "
              + algorithm
              + " hyperparameter and was ignored; check its spelling");
    }
    return List.copyOf(warnings);
  }

  IllegalArgumentException invalid(String key, String message) {
    return new IllegalArgumentException(source + ": key '" + key + "': " + message);
  }
}
