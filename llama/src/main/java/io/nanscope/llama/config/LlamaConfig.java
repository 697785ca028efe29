package io.nanscope.llama.config;

import io.nanscope.engine.format.FloatFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The hyper-parameters of a Llama-2 model, in the letters used across the module: {@code C} = dim,
 * {@code F} = hiddenDim, {@code L} = nLayers, {@code H} = nHeads, {@code Hkv} = nKvHeads, {@code D
 * = C / H} (head dim), {@code V} = vocabSize, {@code T_max} = maxSeqLen.
 *
 * <p>Every instance is validated on construction: positive sizes, {@code C % H == 0}, {@code H %
 * Hkv == 0}, even {@code D} (RoPE rotates pairs), finite positive {@code normEps} and {@code
 * ropeTheta}, and a parameter count that fits in a {@code long}.
 *
 * @param dim C, width of the residual stream ({@code hidden_size})
 * @param hiddenDim F, width of the SwiGLU MLP ({@code intermediate_size})
 * @param nLayers L
 * @param nHeads H, query heads
 * @param nKvHeads Hkv, key/value heads (GQA when smaller than H)
 * @param vocabSize V
 * @param maxSeqLen T_max ({@code max_position_embeddings}; llama2.c {@code seq_len})
 * @param normEps RMSNorm epsilon added to the mean square ({@code rms_norm_eps})
 * @param ropeTheta RoPE base ({@code rope_theta})
 * @param tieWordEmbeddings the classifier is the token embedding ({@code tie_word_embeddings})
 * @param torchDtype storage dtype named in config.json: float32, float16 or bfloat16
 * @param ropeLayout the RoPE pairing that the q/k weights of this model's files use
 */
public record LlamaConfig(
    int dim,
    int hiddenDim,
    int nLayers,
    int nHeads,
    int nKvHeads,
    int vocabSize,
    int maxSeqLen,
    double normEps,
    double ropeTheta,
    boolean tieWordEmbeddings,
    String torchDtype,
    RopeLayout ropeLayout) {

  /** Built on first use: Jackson's ~400 classes cost a llama2.c-checkpoint command ~0.2 s. */
  private static final class Json {
    static final ObjectMapper MAPPER = JsonMapper.builder().build();
  }

  /** Bytes of the llama2.c header: 7 little-endian int32. */
  public static final int LLAMA2C_HEADER_BYTES = 28;

  public LlamaConfig {
    positive("dim", dim);
    positive("hiddenDim", hiddenDim);
    positive("nLayers", nLayers);
    positive("nHeads", nHeads);
    positive("nKvHeads", nKvHeads);
    positive("vocabSize", vocabSize);
    positive("maxSeqLen", maxSeqLen);
    if (dim % nHeads != 0) {
      throw new IllegalArgumentException(
          "dim " + dim + " is not a multiple of nHeads " + nHeads + ": the head dim must be whole");
    }
    if (nHeads % nKvHeads != 0) {
      throw new IllegalArgumentException(
          "nHeads "
              + nHeads
              + " is not a multiple of nKvHeads "
              + nKvHeads
              + ": each key/value head must serve a whole group of query heads");
    }
    if ((dim / nHeads) % 2 != 0) {
      throw new IllegalArgumentException(
          "head dim "
              + dim / nHeads
              + " (dim/nHeads) is odd; RoPE rotates pairs and needs it even");
    }
    if (!(normEps > 0 && Double.isFinite(normEps))) {
      throw new IllegalArgumentException("normEps is " + normEps + ", expected a finite value > 0");
    }
    if (!(ropeTheta > 0 && Double.isFinite(ropeTheta))) {
      throw new IllegalArgumentException(
          "ropeTheta is " + ropeTheta + ", expected a finite value > 0");
    }
    formatOf(torchDtype);
    if (ropeLayout == null) {
      throw new IllegalArgumentException("ropeLayout is null");
    }
    try {
      parameterCountExact(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, tieWordEmbeddings);
      Math.multiplyExact((long) maxSeqLen, (long) dim); // one layer's KV cache row block
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(
          "sizes dim "
              + dim
              + ", hiddenDim "
              + hiddenDim
              + ", nLayers "
              + nLayers
              + ", vocabSize "
              + vocabSize
              + " give more than 2^63 parameters: the config is absurd");
    }
  }

  private static void positive(String name, int v) {
    if (v <= 0) {
      throw new IllegalArgumentException(name + " is " + v + ", expected a positive integer");
    }
  }

  /** D = C / H. */
  public int headDim() {
    return dim / nHeads;
  }

  /** Hkv · D: rows of wk and wv. */
  public int kvDim() {
    return nKvHeads * headDim();
  }

  /** The storage format that {@link #torchDtype} names. */
  public FloatFormat storageFormat() {
    return formatOf(torchDtype);
  }

  /**
   * Parameters held in the weight files (embedding, layers, final norm, classifier unless tied).
   */
  public long parameterCount() {
    return parameterCountExact(
        dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, tieWordEmbeddings);
  }

  private static long parameterCountExact(
      long c, long f, long l, long h, long hkv, long v, boolean tied) {
    long d = c / h;
    long perLayer =
        Math.addExact(
            Math.addExact(
                Math.multiplyExact(2, c), // attnNorm, ffnNorm
                Math.multiplyExact(2, Math.multiplyExact(c, c))), // wq, wo
            Math.addExact(
                Math.multiplyExact(2, Math.multiplyExact(Math.multiplyExact(hkv, d), c)), // wk, wv
                Math.multiplyExact(3, Math.multiplyExact(f, c)))); // wGate, wUp, wDown
    long emb = Math.multiplyExact(v, c);
    return Math.addExact(
        Math.addExact(Math.multiplyExact(l, perLayer), c), tied ? emb : Math.multiplyExact(2, emb));
  }

  /** A copy with another storage dtype (float32, float16, bfloat16). */
  public LlamaConfig withTorchDtype(String dtype) {
    return new LlamaConfig(
        dim,
        hiddenDim,
        nLayers,
        nHeads,
        nKvHeads,
        vocabSize,
        maxSeqLen,
        normEps,
        ropeTheta,
        tieWordEmbeddings,
        dtype,
        ropeLayout);
  }

  /** A copy with another q/k row layout. */
  public LlamaConfig withRopeLayout(RopeLayout layout) {
    return new LlamaConfig(
        dim,
        hiddenDim,
        nLayers,
        nHeads,
        nKvHeads,
        vocabSize,
        maxSeqLen,
        normEps,
        ropeTheta,
        tieWordEmbeddings,
        torchDtype,
        layout);
  }

  /** float32 / float16 / bfloat16 (also fp32, f16, bf16 …) to a format. */
  public static FloatFormat formatOf(String dtype) {
    if (dtype == null) {
      throw new IllegalArgumentException(
          "torch_dtype is missing, expected float32, float16 or bfloat16");
    }
    return switch (dtype.toLowerCase(Locale.ROOT)) {
      case "float32", "fp32", "f32" -> FloatFormat.FP32;
      case "float16", "fp16", "f16", "half" -> FloatFormat.FP16;
      case "bfloat16", "bf16" -> FloatFormat.BF16;
      default ->
          throw new IllegalArgumentException(
              "torch_dtype '"
                  + dtype
                  + "' is not supported, expected float32, float16 or bfloat16");
    };
  }

  /** The config.json name of a format: float32, float16, bfloat16. */
  public static String dtypeName(FloatFormat format) {
    if (format == FloatFormat.FP32) {
      return "float32";
    } else if (format == FloatFormat.FP16) {
      return "float16";
    } else if (format == FloatFormat.BF16) {
      return "bfloat16";
    }
    throw new IllegalArgumentException(format + " has no torch dtype; use fp32, fp16 or bf16");
  }

  // ------------------------------------------------------------------ llama2.c header

  /**
   * Reads the llama2.c header: 7 little-endian int32 {@code dim, hidden_dim, n_layers, n_heads,
   * n_kv_heads, vocab_size, seq_len}; a negative vocab_size means the classifier is stored after
   * the other weights (not shared). llama2.c uses RMSNorm eps 1e-5, RoPE theta 10000 on interleaved
   * pairs, FP32.
   *
   * @param source the file name, for messages
   */
  public static LlamaConfig fromLlama2cHeader(ByteBuffer header, String source) {
    if (header.remaining() < LLAMA2C_HEADER_BYTES) {
      throw new IllegalArgumentException(
          source + ": " + header.remaining() + " bytes, too short for the 28-byte llama2.c header");
    }
    ByteBuffer b = header.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    int[] h = new int[7];
    for (int i = 0; i < 7; i++) {
      h[i] = b.getInt();
    }
    boolean shared = h[5] > 0;
    try {
      return new LlamaConfig(
          h[0],
          h[1],
          h[2],
          h[3],
          h[4],
          h[5] == Integer.MIN_VALUE ? 0 : Math.abs(h[5]),
          h[6],
          1e-5,
          10000.0,
          shared,
          "float32",
          RopeLayout.META_INTERLEAVED);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          source
              + ": bad llama2.c header (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,"
              + " seq_len) = "
              + java.util.Arrays.toString(h)
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /** The 28-byte llama2.c header of this config (legacy v0; negative vocab if not tied). */
  public byte[] toLlama2cHeader() {
    ByteBuffer b = ByteBuffer.allocate(LLAMA2C_HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(dim).putInt(hiddenDim).putInt(nLayers).putInt(nHeads).putInt(nKvHeads);
    b.putInt(tieWordEmbeddings ? vocabSize : -vocabSize).putInt(maxSeqLen);
    return b.array();
  }

  // ------------------------------------------------------------------ Hugging Face config.json

  /**
   * Reads a HF {@code config.json} (LlamaForCausalLM). Defaults follow transformers' LlamaConfig:
   * num_key_value_heads = num_attention_heads, rms_norm_eps 1e-6, rope_theta 10000,
   * tie_word_embeddings false, max_position_embeddings 2048, torch_dtype float32. RoPE scaling,
   * attention/MLP biases and activations other than silu are refused. HF files store q/k in the
   * rotate_half layout.
   */
  public static LlamaConfig fromHfJson(Path file) throws IOException {
    JsonNode j;
    try {
      j = Json.MAPPER.readTree(Files.readAllBytes(file));
    } catch (JacksonException e) {
      throw new IllegalArgumentException(
          file + ": not valid JSON (" + e.getOriginalMessage() + ")");
    }
    if (j == null || !j.isObject()) {
      throw new IllegalArgumentException(file + ": expected a JSON object (a HF config.json)");
    }
    String type = j.path("model_type").asString("llama");
    if (!type.equals("llama")) {
      throw new IllegalArgumentException(file + ": model_type is '" + type + "', expected 'llama'");
    }
    JsonNode scaling = j.path("rope_scaling");
    if (!scaling.isMissingNode() && !scaling.isNull()) {
      throw new IllegalArgumentException(file + ": rope_scaling " + scaling + " is not supported");
    }
    String act = j.path("hidden_act").asString("silu");
    if (!act.equals("silu")) {
      throw new IllegalArgumentException(
          file + ": hidden_act '" + act + "' is not supported, expected silu");
    }
    if (j.path("attention_bias").asBoolean(false) || j.path("mlp_bias").asBoolean(false)) {
      throw new IllegalArgumentException(
          file + ": attention_bias/mlp_bias are not supported (Llama 2 has none)");
    }
    try {
      int heads = intField(j, "num_attention_heads", null);
      LlamaConfig c =
          new LlamaConfig(
              intField(j, "hidden_size", null),
              intField(j, "intermediate_size", null),
              intField(j, "num_hidden_layers", null),
              heads,
              intField(j, "num_key_value_heads", heads),
              intField(j, "vocab_size", null),
              intField(j, "max_position_embeddings", 2048),
              doubleField(j, "rms_norm_eps", 1e-6),
              doubleField(j, "rope_theta", 10000.0),
              j.path("tie_word_embeddings").asBoolean(false),
              j.path("torch_dtype").asString(j.path("dtype").asString("float32")),
              RopeLayout.HF_ROTATE_HALF);
      int headDim = intField(j, "head_dim", c.headDim());
      if (headDim != c.headDim()) {
        throw new IllegalArgumentException(
            "head_dim " + headDim + " differs from hidden_size/num_attention_heads " + c.headDim());
      }
      return c;
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  private static int intField(JsonNode j, String name, Integer dflt) {
    JsonNode n = j.get(name);
    if (n == null || n.isNull()) {
      if (dflt == null) {
        throw new IllegalArgumentException(name + " is missing");
      }
      return dflt;
    }
    if (!n.isIntegralNumber() || !n.canConvertToInt()) {
      throw new IllegalArgumentException(
          name + " is " + n + ", expected an integer that fits in int32");
    }
    return n.intValue();
  }

  private static double doubleField(JsonNode j, String name, double dflt) {
    JsonNode n = j.get(name);
    if (n == null || n.isNull()) {
      return dflt;
    }
    if (!n.isNumber()) {
      throw new IllegalArgumentException(name + " is " + n + ", expected a number");
    }
    return n.doubleValue();
  }

  /**
   * This config as a HF {@code config.json} for LlamaForCausalLM (always the rotate_half layout).
   */
  public String toHfJson() {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.putArray("architectures").add("LlamaForCausalLM");
    o.put("model_type", "llama");
    o.put("hidden_size", dim);
    o.put("intermediate_size", hiddenDim);
    o.put("num_hidden_layers", nLayers);
    o.put("num_attention_heads", nHeads);
    o.put("num_key_value_heads", nKvHeads);
    o.put("head_dim", headDim());
    o.put("vocab_size", vocabSize);
    o.put("max_position_embeddings", maxSeqLen);
    o.put("rms_norm_eps", normEps);
    o.put("rope_theta", ropeTheta);
    o.putNull("rope_scaling");
    o.put("tie_word_embeddings", tieWordEmbeddings);
    o.put("torch_dtype", dtypeName(storageFormat()));
    o.put("hidden_act", "silu");
    o.put("attention_bias", false);
    o.put("mlp_bias", false);
    o.put("bos_token_id", 1);
    o.put("eos_token_id", 2);
    o.put("initializer_range", 0.02);
    o.put("pretraining_tp", 1);
    o.put("use_cache", true);
    return Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n";
  }

  // ------------------------------------------------------------------ shapes people use

  /** Llama-2-7B: C 4096, F 11008, L 32, H = Hkv = 32, V 32000, T_max 4096, eps 1e-5. */
  public static LlamaConfig llama2_7b(String torchDtype) {
    return new LlamaConfig(
        4096,
        11008,
        32,
        32,
        32,
        32000,
        4096,
        1e-5,
        10000.0,
        false,
        torchDtype,
        RopeLayout.HF_ROTATE_HALF);
  }

  /** A tiny GQA Llama for tests: C 16, F 40, L 2, H 4, Hkv 2, V 32, T_max 64, untied. */
  public static LlamaConfig tiny(String torchDtype) {
    return new LlamaConfig(
        16, 40, 2, 4, 2, 32, 64, 1e-5, 10000.0, false, torchDtype, RopeLayout.HF_ROTATE_HALF);
  }
}
