package io.nanscope.engine.op;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.format.Overflow;
import io.nanscope.engine.format.Rounding;
import io.nanscope.engine.format.RoundingSpec;
import io.nanscope.engine.format.Subnormals;
import io.nanscope.engine.trace.Site;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * Which {@link Precision} each op runs in: one per {@link OpKind}, optionally overridden for sites
 * matching a pattern ({@code layers.*.mlp.down_proj}; {@code *} matches within one dotted segment,
 * {@code **} across segments). The first matching site override wins, then the op kind's entry.
 *
 * <p>Built-in policies ({@link #named}); S is the storage format (FP16 or BF16):
 *
 * <ul>
 *   <li>{@code fp32}: every op FP32 in, out and inside.
 *   <li>{@code pytorch-fp16}, {@code pytorch-bf16}: mirror HF Llama on PyTorch CUDA with {@code
 *       torch_dtype=S}. Activations and weights stored in S. GEMMs (linear, attention q·kᵀ and p·v)
 *       accumulate in FP32 and round the output to S (cuBLAS). Element-wise CUDA kernels (SiLU,
 *       add, mul, scale) compute in FP32 ("opmath") and round each output to S. RMSNorm upcasts:
 *       x², the mean and the rsqrt in FP32, {@code x·rstd} rounded to S, then {@code weight · that}
 *       rounded to S ({@code LlamaRMSNorm}). RoPE rounds cos/sin to S and each product and sum to S
 *       ({@code q*cos + rotate_half(q)*sin} on S tensors). The attention softmax runs in FP32 and
 *       is rounded to S ({@code softmax(attn, dtype=float32).to(q.dtype)}); the additive causal
 *       mask is S's most negative finite value ({@code finfo(S).min}). Logits are upcast to FP32
 *       ({@code logits.float()}), so softmax, log-softmax, gather, the losses, norms and sums
 *       output FP32.
 *   <li>{@code naive-fp16}, {@code naive-bf16}: the same model without any upcast: every output and
 *       every element-wise intermediate in S (x² in RMSNorm can overflow, the softmax runs in S,
 *       the logits and losses stay in S). GEMMs still accumulate in FP32 as cuBLAS does. Shows why
 *       the upcasts exist.
 *   <li>{@code strict-fp16}, {@code strict-bf16}: naive, and every accumulation step rounded to S
 *       too (dot products, row sums): a sequential S loop. Slow; for teaching ({@code
 *       ones(10000).sum()} = 2048 in FP16).
 * </ul>
 */
public final class PrecisionPolicy {

  /** The names {@link #named} accepts. */
  public static final List<String> BUILT_IN =
      List.of(
          "fp32",
          "pytorch-fp16",
          "pytorch-bf16",
          "naive-fp16",
          "naive-bf16",
          "strict-fp16",
          "strict-bf16");

  private final String name;
  private final FloatFormat storage;
  private final Map<OpKind, Precision> byKind;
  private final List<SiteOverride> overrides;

  private record SiteOverride(String pattern, Pattern regex, Precision precision) {}

  private PrecisionPolicy(
      String name,
      FloatFormat storage,
      Map<OpKind, Precision> byKind,
      List<SiteOverride> overrides) {
    for (OpKind k : OpKind.values()) {
      if (!byKind.containsKey(k)) {
        throw new IllegalArgumentException(
            "policy '" + name + "' has no precision for " + k.configName());
      }
    }
    this.name = name;
    this.storage = storage;
    this.byKind = new EnumMap<>(byKind);
    this.overrides = List.copyOf(overrides);
  }

  /**
   * A policy that runs every op in {@code precision} (FP64 references use {@link Precision#FP64}).
   */
  public static PrecisionPolicy uniform(String name, Precision precision) {
    Map<OpKind, Precision> m = new EnumMap<>(OpKind.class);
    for (OpKind k : OpKind.values()) {
      m.put(k, precision);
    }
    return new PrecisionPolicy(name, precision.output(), m, List.of());
  }

  /** A built-in policy by name; see the class javadoc for what each mirrors. */
  public static PrecisionPolicy named(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    return switch (n) {
      case "fp32" -> uniform("fp32", Precision.FP32);
      case "pytorch-fp16" -> pytorch(n, FloatFormat.FP16);
      case "pytorch-bf16" -> pytorch(n, FloatFormat.BF16);
      case "naive-fp16" -> naive(n, FloatFormat.FP16);
      case "naive-bf16" -> naive(n, FloatFormat.BF16);
      case "strict-fp16" -> uniform(n, Precision.uniform(FloatFormat.FP16));
      case "strict-bf16" -> uniform(n, Precision.uniform(FloatFormat.BF16));
      default ->
          throw new IllegalArgumentException(
              "unknown precision policy '"
                  + name
                  + "': expected one of "
                  + String.join(", ", BUILT_IN)
                  + ", or a custom policy file from configs/precision/");
    };
  }

  private static PrecisionPolicy pytorch(String name, FloatFormat s) {
    FloatFormat f32 = FloatFormat.FP32;
    Precision storedOpmath = new Precision(s, f32, f32);
    Precision upcast = Precision.FP32;
    Map<OpKind, Precision> m = new EnumMap<>(OpKind.class);
    for (OpKind k : OpKind.values()) {
      m.put(k, storedOpmath);
    }
    m.put(OpKind.ROPE, new Precision(s, f32, s));
    for (OpKind k :
        List.of(
            OpKind.SOFTMAX,
            OpKind.LOG_SOFTMAX,
            OpKind.GATHER,
            OpKind.LOSS,
            OpKind.NORM,
            OpKind.SUM)) {
      m.put(k, upcast);
    }
    return new PrecisionPolicy(name, s, m, List.of());
  }

  private static PrecisionPolicy naive(String name, FloatFormat s) {
    Precision p = new Precision(s, FloatFormat.FP32, s);
    Map<OpKind, Precision> m = new EnumMap<>(OpKind.class);
    for (OpKind k : OpKind.values()) {
      m.put(k, p);
    }
    return new PrecisionPolicy(name, s, m, List.of());
  }

  /**
   * A policy from a parsed config (the shape of {@code configs/precision/*.yaml}):
   *
   * <pre>
   * name: my-policy          # optional, defaults to "custom"
   * base: pytorch-fp16       # optional built-in to start from, defaults to fp32
   * storage: fp16            # optional, defaults to the base's
   * default: {output: fp16, accumulate: fp32, compute: fp32}   # optional, every op kind
   * ops:                     # optional, per op kind
   *   rmsnorm: {output: fp16, accumulate: fp32, compute: fp32}
   * sites:                   # optional, first match wins
   *   "layers.*.mlp.down_proj": {output: fp32}
   * </pre>
   *
   * A precision entry may leave out fields: they keep the value of what it overrides. Besides the
   * three formats it may set the output rounding: {@code rounding} (nearest-even, toward-zero, up,
   * down, stochastic), {@code overflow} (ieee, saturate), {@code subnormals} (keep, flush), {@code
   * seed}.
   */
  public static PrecisionPolicy fromMap(Map<String, Object> config) {
    Objects.requireNonNull(config, "config");
    for (String key : config.keySet()) {
      if (!List.of("name", "base", "storage", "default", "ops", "sites").contains(key)) {
        throw new IllegalArgumentException(
            "unknown key '"
                + key
                + "' in precision policy: expected name, base, storage, default, ops, sites");
      }
    }
    String name = config.containsKey("name") ? String.valueOf(config.get("name")) : "custom";
    PrecisionPolicy base =
        named(config.containsKey("base") ? String.valueOf(config.get("base")) : "fp32");
    FloatFormat storage =
        config.containsKey("storage")
            ? parseFormat(String.valueOf(config.get("storage")))
            : base.storage;
    Map<OpKind, Precision> m = new EnumMap<>(base.byKind);
    if (config.containsKey("default")) {
      Map<String, Object> d = asMap(config.get("default"), "default");
      for (OpKind k : OpKind.values()) {
        m.put(k, parsePrecision(d, m.get(k), "default"));
      }
    }
    if (config.containsKey("ops")) {
      for (Map.Entry<String, Object> e : asMap(config.get("ops"), "ops").entrySet()) {
        OpKind k = OpKind.parse(e.getKey());
        m.put(
            k,
            parsePrecision(
                asMap(e.getValue(), "ops." + e.getKey()), m.get(k), "ops." + e.getKey()));
      }
    }
    List<SiteOverride> sites = new ArrayList<>();
    if (config.containsKey("sites")) {
      for (Map.Entry<String, Object> e : asMap(config.get("sites"), "sites").entrySet()) {
        Precision start = m.get(OpKind.MATMUL);
        sites.add(
            new SiteOverride(
                e.getKey(),
                globToRegex(e.getKey()),
                parsePrecision(
                    asMap(e.getValue(), "sites." + e.getKey()), start, "sites." + e.getKey())));
      }
    }
    return new PrecisionPolicy(name, storage, m, sites);
  }

  /**
   * A policy from flat properties: {@code name}, {@code base}, {@code storage}, {@code
   * default.output}, {@code ops.rmsnorm.compute}, {@code sites."layers.*.mlp".output} (site
   * patterns quoted because they contain dots).
   */
  public static PrecisionPolicy fromProperties(Properties props) {
    Map<String, Object> root = new LinkedHashMap<>();
    for (String key : props.stringPropertyNames()) {
      String value = props.getProperty(key);
      if (key.startsWith("sites.\"")) {
        int close = key.indexOf('"', 7);
        if (close < 0 || close + 2 > key.length() || key.charAt(close + 1) != '.') {
          throw new IllegalArgumentException(
              "property '" + key + "': expected sites.\"<pattern>\".<output|accumulate|compute>");
        }
        nested(nested(root, "sites"), key.substring(7, close)).put(key.substring(close + 2), value);
      } else {
        String[] parts = key.split("\\.");
        Map<String, Object> at = root;
        for (int i = 0; i < parts.length - 1; i++) {
          at = nested(at, parts[i]);
        }
        at.put(parts[parts.length - 1], value);
      }
    }
    return fromMap(root);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> nested(Map<String, Object> m, String key) {
    Object v = m.computeIfAbsent(key, k -> new LinkedHashMap<String, Object>());
    if (!(v instanceof Map)) {
      throw new IllegalArgumentException("property '" + key + "' is both a value and a group");
    }
    return (Map<String, Object>) v;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object o, String where) {
    if (!(o instanceof Map<?, ?> m)) {
      throw new IllegalArgumentException("'" + where + "' must be a mapping, got " + o);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      out.put(String.valueOf(e.getKey()), e.getValue());
    }
    return out;
  }

  private static Precision parsePrecision(Map<String, Object> m, Precision start, String where) {
    FloatFormat out = start.output();
    FloatFormat acc = start.accumulate();
    FloatFormat cmp = start.compute();
    RoundingSpec spec = start.rounding();
    for (Map.Entry<String, Object> e : m.entrySet()) {
      String v = String.valueOf(e.getValue());
      switch (e.getKey()) {
        case "output" -> out = parseFormat(v);
        case "accumulate" -> acc = parseFormat(v);
        case "compute" -> cmp = parseFormat(v);
        case "rounding" ->
            spec =
                new RoundingSpec(
                    Rounding.parse(v), spec.overflow(), spec.subnormals(), spec.seed());
        case "overflow" ->
            spec = spec.withOverflow(parseEnum(Overflow.class, v, where + ".overflow"));
        case "subnormals" ->
            spec = spec.withSubnormals(parseEnum(Subnormals.class, v, where + ".subnormals"));
        case "seed" -> {
          try {
            spec = spec.withSeed(Long.parseLong(v.trim()));
          } catch (NumberFormatException ex) {
            throw new IllegalArgumentException(
                where + ".seed must be an integer, got '" + v + "'", ex);
          }
        }
        default ->
            throw new IllegalArgumentException(
                "unknown key '"
                    + e.getKey()
                    + "' in "
                    + where
                    + ": expected output, accumulate, compute, rounding, overflow, subnormals, seed");
      }
    }
    return new Precision(out, acc, cmp, spec);
  }

  private static <E extends Enum<E>> E parseEnum(Class<E> type, String v, String where) {
    for (E c : type.getEnumConstants()) {
      if (c.name().equalsIgnoreCase(v.trim())) {
        return c;
      }
    }
    throw new IllegalArgumentException(
        "unknown value '"
            + v
            + "' for "
            + where
            + ": expected one of "
            + java.util.Arrays.stream(type.getEnumConstants())
                .map(c -> c.name().toLowerCase(Locale.ROOT))
                .toList());
  }

  /**
   * A format name as {@link FloatFormat#parse} reads it: fp64, fp32, tf32, bf16, fp16, fp8-e4m3…
   */
  public static FloatFormat parseFormat(String name) {
    return FloatFormat.parse(name);
  }

  private static Pattern globToRegex(String glob) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
        b.append(".*");
        i++;
      } else if (c == '*') {
        b.append("[^.]*");
      } else {
        b.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(b.toString());
  }

  public String name() {
    return name;
  }

  /** The format weights and activations are stored in. */
  public FloatFormat storage() {
    return storage;
  }

  /** The precision of an op kind, ignoring site overrides. */
  public Precision of(OpKind kind) {
    return byKind.get(kind);
  }

  /** The precision of an op kind at a site: the first matching site override, else the kind's. */
  public Precision of(OpKind kind, Site site) {
    for (SiteOverride o : overrides) {
      if (o.regex.matcher(site.name()).matches()) {
        return o.precision;
      }
    }
    return byKind.get(kind);
  }

  /**
   * The precision of the first site override matching {@code site}, empty when none does. For steps
   * that are not engine ops and whose default is not an op kind's precision (an editing algorithm's
   * weight update: the storage format unless a site override widens it).
   */
  public java.util.Optional<Precision> siteOverride(Site site) {
    for (SiteOverride o : overrides) {
      if (o.regex.matcher(site.name()).matches()) {
        return java.util.Optional.of(o.precision);
      }
    }
    return java.util.Optional.empty();
  }

  /**
   * Whether every op runs in {@link Precision#FP32} at every site: every op kind's precision and
   * every site override's is FP32. Then a step written on float arrays with {@link Fp32Rows} gives
   * the op path's bits, whatever the model's site names.
   */
  public boolean isAllFp32() {
    return byKind.values().stream().allMatch(Precision.FP32::equals)
        && overrides.stream().allMatch(o -> o.precision.equals(Precision.FP32));
  }

  /** One line per op kind and site override, for trace headers and {@code --help}. */
  public String describe() {
    StringBuilder b = new StringBuilder("policy " + name + " (storage " + storage + ")\n");
    for (OpKind k : OpKind.values()) {
      b.append(String.format("  %-18s %s%n", k.configName(), byKind.get(k)));
    }
    for (SiteOverride o : overrides) {
      b.append(String.format("  site %-13s %s%n", o.pattern, o.precision));
    }
    return b.toString();
  }

  @Override
  public String toString() {
    return name;
  }
}
