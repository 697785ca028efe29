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
import java.nio.file.Path;
import java.util.Locale;
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
      defaultValue = "256",
      paramLabel = "N",
      description =
          "positions incl. BOS and the prompt; 0 = the model's maximum (default: ${DEFAULT-VALUE})")
  int steps;

  @Option(
      names = "--temperature",
      defaultValue = "0",
      paramLabel = "T",
      description = "0 = greedy (default: ${DEFAULT-VALUE})")
  float temperature;

  @Option(
      names = "--top-k",
      defaultValue = "0",
      paramLabel = "K",
      description = "0 = off (default: ${DEFAULT-VALUE})")
  int topK;

  @Option(
      names = "--top-p",
      defaultValue = "1",
      paramLabel = "P",
      description = "1 = off (default: ${DEFAULT-VALUE})")
  float topP;

  @Option(
      names = "--seed",
      defaultValue = "42",
      paramLabel = "S",
      description = "sampling seed (default: ${DEFAULT-VALUE})")
  long seed;

  @Option(
      names = "--policy",
      defaultValue = "fp32",
      paramLabel = "NAME",
      description =
          "precision policy: fp32, pytorch-fp16, pytorch-bf16, naive-fp16, naive-bf16, strict-fp16,"
              + " strict-bf16, a policy YAML file, or the name of one in configs/precision/ (default: ${DEFAULT-VALUE})")
  String policy;

  @Option(
      names = "--threads",
      defaultValue = "1",
      paramLabel = "N",
      description =
          "threads for the matrix kernels; results do not depend on it (default: ${DEFAULT-VALUE})")
  int threads;

  @Override
  public Integer call() throws IOException {
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
    PrintWriter out = spec.commandLine().getOut();
    Utf8Stream text = new Utf8Stream(out);
    Generator.Result r = g.generate(prompt, steps, sampler, text::write);
    text.finish();
    out.println();
    out.flush();
    spec.commandLine()
        .getErr()
        .printf(
            Locale.ROOT,
            "achieved tok/s: %.2f (%d positions, policy %s, %d thread%s)%n",
            r.tokensPerSecond(),
            r.positions(),
            p.name(),
            threads,
            threads == 1 ? "" : "s");
    return 0;
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
