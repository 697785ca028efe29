package io.nanscope.llama.generate;

import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.DecodeSession;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The decode loop of llama2.c's {@code generate()} in {@code run.c}: the prompt is encoded with BOS
 * (dummy prefix, greedy merges), BOS and the prompt tokens are forced, then the sampler picks each
 * next token; {@code steps} counts positions including BOS and the prompt (run.c's {@code -n}; 0 or
 * more than the model's positions means all of them); the loop stops when the model produces BOS
 * (run.c's only stop token: it prints an EOS piece like any other). Text is streamed as run.c
 * prints it: the leading space of the piece right after BOS is stripped, and a byte piece is
 * printed only if it is printable or white space ({@link Tokenizer#llama2cPrintable}).
 */
public final class Generator {

  private final LlamaModel model;
  private final Tokenizer tokenizer;
  private final PrecisionPolicy policy;
  private final OpContext ctx;

  public Generator(LlamaModel model, Tokenizer tokenizer, PrecisionPolicy policy, OpContext ctx) {
    this.model = Objects.requireNonNull(model, "model");
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.ctx = Objects.requireNonNull(ctx, "ctx");
    if (tokenizer.vocabSize() != model.config().vocabSize()) {
      throw new IllegalArgumentException(
          "the tokenizer "
              + tokenizer.source()
              + " has "
              + tokenizer.vocabSize()
              + " tokens but the model has "
              + model.config().vocabSize());
    }
  }

  /**
   * What one run produced.
   *
   * @param tokens every token fed or produced: BOS, the prompt, the generated ones (the last one
   *     printed but not fed)
   * @param promptTokens BOS + prompt count
   * @param positions positions run through the model
   * @param text the bytes printed (without run.c's final newline)
   * @param nanos wall time of the decode loop; tokens/s is measured from the second position on,
   *     like run.c (the first step is excluded from its timer)
   * @param nanosAfterFirst wall time from the end of the first step to the end
   */
  public record Result(
      int[] tokens,
      int promptTokens,
      int positions,
      byte[] text,
      long nanos,
      long nanosAfterFirst) {

    /**
     * Positions processed after the first, per second of {@link #nanosAfterFirst} (run.c's
     * "achieved tok/s").
     */
    public double tokensPerSecond() {
      return positions < 2 || nanosAfterFirst == 0 ? 0 : (positions - 1) * 1e9 / nanosAfterFirst;
    }

    public String textUtf8() {
      return new String(text, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /**
   * Runs the loop; {@code sink} receives each printed piece as it is produced (may be null).
   *
   * @param steps positions to run including BOS and the prompt; 0 or > maxSeqLen means maxSeqLen
   */
  public Result generate(String prompt, int steps, Sampler sampler, Consumer<byte[]> sink) {
    Objects.requireNonNull(prompt, "prompt");
    if (steps < 0) {
      throw new IllegalArgumentException(
          "steps is " + steps + ", expected >= 0 (0 = the model's maximum)");
    }
    int max = model.config().maxSeqLen();
    int n = steps == 0 || steps > max ? max : steps;
    int[] prompted = tokenizer.encode(prompt, true, false);
    if (prompted.length > n) {
      throw new IllegalArgumentException(
          "the prompt is "
              + prompted.length
              + " tokens with BOS, more than the "
              + n
              + " positions asked for");
    }
    Sampler.Session sampling = sampler.start();
    DecodeSession decoder = model.decoder(policy, ctx);
    int[] out = Arrays.copyOf(prompted, n + 1);
    int count = 1;
    int positions = 0;
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    long start = System.nanoTime(), afterFirst = start;
    int token = prompted[0];
    for (int pos = 0; pos < n; pos++) {
      float[] logits = decoder.next(token);
      positions++;
      int next = pos < prompted.length - 1 ? prompted[pos + 1] : sampling.next(logits);
      if (pos == 0) {
        afterFirst = System.nanoTime();
      }
      if (next == tokenizer.bosId()) {
        break;
      }
      byte[] piece = tokenizer.llama2cPiece(token, next);
      if (Tokenizer.llama2cPrintable(piece)) {
        text.writeBytes(piece);
        if (sink != null) {
          sink.accept(piece);
        }
      }
      out[count++] = next;
      token = next;
    }
    long end = System.nanoTime();
    return new Result(
        Arrays.copyOf(out, count),
        prompted.length,
        positions,
        text.toByteArray(),
        end - start,
        end - afterFirst);
  }
}
