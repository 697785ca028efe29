package io.nanscope.cli;

import io.nanscope.editing.hparams.Policies;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.generate.Generator;
import io.nanscope.llama.generate.Sampler;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nanscope generate}: streams a continuation of a prompt, llama2.c style. */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = {
      "Generates text from a prompt and streams it to stdout; tokens/s goes to stderr.",
      "--steps counts positions like llama2.c's -n: BOS + prompt + generated tokens.",
      "Greedy by default (temperature 0); otherwise temperature, then top-k, then top-p, then a",
      "seeded multinomial draw (Hugging Face's order)."
    })
public final class GenerateCommand implements Callable<Integer> {

  // The defaults, one place for picocli's annotations and for simple() below.
  static final String DEFAULT_STEPS = "256";
  static final String DEFAULT_TEMPERATURE = "0";
  static final String DEFAULT_TOP_K = "0";
  static final String DEFAULT_TOP_P = "1";
  static final String DEFAULT_SEED = "42";
  static final String DEFAULT_POLICY = "fp32";
  static final String DEFAULT_THREADS = "1";

  /** The options {@link #simple} reads: all of this command's but -h/--help and -V/--version. */
  static final List<String> OPTIONS =
      List.of(
          "--model",
          "--prompt",
          "--steps",
          "--temperature",
          "--top-k",
          "--top-p",
          "--seed",
          "--policy",
          "--threads");

  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      paramLabel = "PATH",
      description =
          "llama2.c checkpoint (file or directory) or HF directory (default: "
              + ConvertCommand.DEFAULT_MODEL
              + ")")
  Path model;

  @Option(
      names = "--prompt",
      required = true,
      paramLabel = "TEXT",
      description = "the prompt (may be empty)")
  String prompt;

  @Option(
      names = "--steps",
      defaultValue = DEFAULT_STEPS,
      paramLabel = "N",
      description =
          "positions incl. BOS and the prompt; 0 = the model's maximum (default: ${DEFAULT-VALUE})")
  int steps;

  @Option(
      names = "--temperature",
      defaultValue = DEFAULT_TEMPERATURE,
      paramLabel = "T",
      description = "0 = greedy (default: ${DEFAULT-VALUE})")
  float temperature;

  @Option(
      names = "--top-k",
      defaultValue = DEFAULT_TOP_K,
      paramLabel = "K",
      description = "0 = off (default: ${DEFAULT-VALUE})")
  int topK;

  @Option(
      names = "--top-p",
      defaultValue = DEFAULT_TOP_P,
      paramLabel = "P",
      description = "1 = off (default: ${DEFAULT-VALUE})")
  float topP;

  @Option(
      names = "--seed",
      defaultValue = DEFAULT_SEED,
      paramLabel = "S",
      description = "sampling seed (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(
      names = "--policy",
      defaultValue = DEFAULT_POLICY,
      paramLabel = "NAME",
      description =
          "precision policy: fp32, pytorch-fp16, pytorch-bf16, naive-fp16, naive-bf16, strict-fp16,"
              + " strict-bf16, a policy YAML file, or the name of one in configs/precision/ (default: ${DEFAULT-VALUE})")
  String policy;

  @Option(
      names = "--threads",
      defaultValue = DEFAULT_THREADS,
      paramLabel = "N",
      description =
          "threads for the matrix kernels; results do not depend on it (default: ${DEFAULT-VALUE})")
  int threads;

  /**
   * The command for {@code args} when it is {@code generate} followed by {@code --option value}
   * pairs of {@link #OPTIONS}, each at most once, {@code --prompt} among them, and every value one
   * that picocli reads the same way without a second thought: it does not start with {@code -} or
   * {@code @} (an option name, a negative number or an {@code @file} for picocli), and a number is
   * what {@link Integer#parseInt}, {@link Long#parseLong} and {@link Float#parseFloat} read (the
   * converters picocli uses for these types); and {@code picocli.trimQuotes} is not set. Otherwise
   * null, and the command line goes through picocli (help, errors, {@code --name=value}, anything
   * unusual). Main runs generate this way to skip picocli's start-up; GenerateCommandTest checks
   * that both read the same fields.
   */
  static GenerateCommand simple(String[] args) {
    if (args.length < 3 || args.length % 2 == 0 || !args[0].equals("generate")) {
      return null;
    }
    if (System.getProperty("picocli.trimQuotes") != null) {
      return null; // the one picocli property that changes how it reads such a line
    }
    String[] values = new String[OPTIONS.size()];
    for (int i = 1; i < args.length; i += 2) {
      int o = OPTIONS.indexOf(args[i]);
      String value = args[i + 1];
      if (o < 0 || values[o] != null || value.startsWith("-") || value.startsWith("@")) {
        return null;
      }
      values[o] = value;
    }
    if (values[1] == null) {
      return null; // --prompt is required: picocli says so
    }
    GenerateCommand c = new GenerateCommand();
    try {
      c.model = values[0] == null ? null : Path.of(values[0]);
      c.prompt = values[1];
      c.steps = Integer.parseInt(values[2] == null ? DEFAULT_STEPS : values[2]);
      c.temperature = Float.parseFloat(values[3] == null ? DEFAULT_TEMPERATURE : values[3]);
      c.topK = Integer.parseInt(values[4] == null ? DEFAULT_TOP_K : values[4]);
      c.topP = Float.parseFloat(values[5] == null ? DEFAULT_TOP_P : values[5]);
      c.seed = Long.parseLong(values[6] == null ? DEFAULT_SEED : values[6]);
      c.policy = values[7] == null ? DEFAULT_POLICY : values[7];
      c.threads = Integer.parseInt(values[8] == null ? DEFAULT_THREADS : values[8]);
    } catch (NumberFormatException | InvalidPathException e) {
      return null; // picocli's message
    }
    return c;
  }

  @Override
  public Integer call() throws IOException {
    return run(spec.commandLine().getOut(), spec.commandLine().getErr());
  }

  /** Generates; text to {@code out}, the tokens/s line to {@code err}; returns the exit code. */
  int run(PrintWriter out, PrintWriter err) throws IOException {
    PrecisionPolicy p = Policies.resolve(policy, EditCommand.home());
    Sampler sampler = new Sampler(temperature, topK, topP, seed);
    if (threads < 1) {
      throw new IllegalArgumentException("--threads is " + threads + ", expected at least 1");
    }
    if (steps < 0) {
      throw new IllegalArgumentException(
          "--steps is " + steps + ", expected >= 0 (0 = the model's maximum)");
    }
    Path src = model != null ? model : ConvertCommand.defaultModel();
    if (!Files.exists(src)) {
      throw new IllegalArgumentException("model " + src + " does not exist; pass --model PATH");
    }
    // fp32 reads 16-bit weights exactly as stored (no copy); a 16-bit policy stores them in its
    // format
    LlamaModel m =
        p.storage() == FloatFormat.FP32 ? LlamaModel.load(src) : LlamaModel.load(src, p.storage());
    Tokenizer tok = Tokenizer.besideModel(src);
    Generator g = new Generator(m, tok, p, OpContext.DEFAULT.withThreads(threads));
    Utf8Stream text = new Utf8Stream(out);
    Generator.Result r = g.generate(prompt, steps, sampler, text::write);
    text.finish();
    out.println();
    out.flush();
    err.println(
        "achieved tok/s: "
            + twoDecimals(r.tokensPerSecond())
            + " ("
            + r.positions()
            + " positions, policy "
            + p.name()
            + ", "
            + threads
            + (threads == 1 ? " thread)" : " threads)"));
    return 0;
  }

  /**
   * {@code x} as {@code String.format(Locale.ROOT, "%.2f", x)} writes it: the shortest decimal of x
   * ({@link Double#toString}) rounded half up to two places (GenerateCommandTest compares the two).
   * Written out because Formatter loads the locale data (~50 classes) and BigDecimal builds
   * BigInteger's tables in the interpreter, both at the end of every generate.
   */
  static String twoDecimals(double x) {
    if (!Double.isFinite(x)) {
      return Double.toString(x); // "NaN", "Infinity", "-Infinity", as Formatter writes them
    }
    String s = Double.toString(Math.abs(x)); // "123.456", "1.0E-5" or "1.2345E7"
    int e = s.indexOf('E');
    String mantissa = e < 0 ? s : s.substring(0, e);
    int dot = mantissa.indexOf('.');
    StringBuilder digits = new StringBuilder(mantissa).deleteCharAt(dot); // x = 0.digits * 10^point
    int point = dot + (e < 0 ? 0 : Integer.parseInt(s, e + 1, s.length(), 10));
    int keep = point + 2; // the digits of 100x
    StringBuilder hundredths = new StringBuilder();
    if (keep >= digits.length()) {
      hundredths.append(digits).repeat('0', keep - digits.length());
    } else if (keep >= 0) {
      hundredths.append(digits, 0, keep);
      if (digits.charAt(keep) >= '5') { // half up: the digits after it only add to it
        int i = keep - 1;
        while (i >= 0 && hundredths.charAt(i) == '9') {
          hundredths.setCharAt(i--, '0');
        }
        if (i >= 0) {
          hundredths.setCharAt(i, (char) (hundredths.charAt(i) + 1));
        } else {
          hundredths.insert(0, '1');
        }
      }
    }
    while (hundredths.length() > 3 && hundredths.charAt(0) == '0') {
      hundredths.deleteCharAt(0);
    }
    if (hundredths.length() < 3) {
      hundredths.insert(0, "000", 0, 3 - hundredths.length());
    }
    hundredths.insert(hundredths.length() - 2, '.');
    return Double.doubleToRawLongBits(x) < 0
        ? hundredths.insert(0, '-').toString()
        : hundredths.toString();
  }

  /**
   * Bytes to a character stream, keeping an incomplete UTF-8 sequence until its next bytes arrive.
   */
  static final class Utf8Stream {
    private final PrintWriter out;
    private final CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPLACE)
            .onUnmappableCharacter(CodingErrorAction.REPLACE);
    private ByteBuffer pending = ByteBuffer.allocate(0);

    Utf8Stream(PrintWriter out) {
      this.out = out;
    }

    void write(byte[] bytes) {
      ByteBuffer in = ByteBuffer.allocate(pending.remaining() + bytes.length);
      in.put(pending).put(bytes).flip();
      CharBuffer chars = CharBuffer.allocate(in.remaining() + 1);
      decoder.decode(in, chars, false);
      pending = in.slice();
      out.print(chars.flip());
      out.flush();
    }

    void finish() {
      CharBuffer chars = CharBuffer.allocate(pending.remaining() * 2 + 2);
      decoder.decode(pending, chars, true);
      decoder.flush(chars);
      out.print(chars.flip());
    }
  }
}
