package io.nanscope.editing.stats;

import io.nanscope.editing.hparams.ModuleTemplates;
import io.nanscope.editing.hparams.SecondMomentSettings;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * C = E[k kᵀ] of every edited layer, as an algorithm with {@code mom2_adjustment: true} needs it:
 * read from the cache under {@code stats_dir} when a file there was computed from the same content
 * ({@link StatisticsKey}: weights the keys depend on, tokenizer, corpus, policy), else computed
 * ({@link KeyStatistics}) from {@code mom2_dataset} (a text or JSONL file) and saved as an
 * EasyEdit-compatible {@code .npz} with its provenance and content key ({@link
 * SecondMomentFile#keyedPath}), then read back so that this run and every later run edit with C as
 * stored ({@code mom2_dtype}). The model's folder name only sorts the cache; it never decides
 * reuse.
 */
public final class KeySecondMoments {

  /** The longest text the keys are computed over, in tokens (part of the content key). */
  static final int MAX_LENGTH = 256;

  private KeySecondMoments() {}

  /**
   * C from the cache when it was computed from the same content: the keyed file if its provenance
   * carries {@code key}; else EasyEdit's unkeyed file if it has no provenance at all (made by
   * EasyEdit or by hand: used, with a line saying it cannot be checked) or carries {@code key}.
   * Null: compute. A nanscope file for another content key is never used.
   */
  private static SecondMoment cached(
      Path keyed, Path easyEdit, String key, String module, Consumer<String> messages)
      throws IOException {
    if (Files.isRegularFile(keyed)) {
      SecondMoment c = SecondMomentFile.read(keyed);
      if (c.provenance().map(p -> key.equals(p.contentKey())).orElse(false)) {
        messages.accept(
            "key second moment of "
                + module
                + " read from "
                + keyed
                + " ("
                + c.count()
                + " keys, content key "
                + key.substring(0, 16)
                + ")");
        return c;
      }
      messages.accept(
          "not using " + keyed + ": its provenance lacks this content key; computing C again");
    }
    if (Files.isRegularFile(easyEdit)) {
      SecondMoment c = SecondMomentFile.read(easyEdit);
      if (c.provenance().isEmpty()) {
        messages.accept(
            "key second moment of "
                + module
                + " read from "
                + easyEdit
                + " ("
                + c.count()
                + " keys; a file without provenance, e.g. from EasyEdit: it cannot be checked"
                + " against this model, delete it to compute C here)");
        return c;
      }
      if (key.equals(c.provenance().get().contentKey())) {
        messages.accept(
            "key second moment of " + module + " read from " + easyEdit + " (content key matches)");
        return c;
      }
      messages.accept(
          "not using "
              + easyEdit
              + ": written by nanscope for other content (another model, tokenizer, corpus or"
              + " policy, or before caches were keyed by content)");
    }
    return null;
  }

  /**
   * The model's folder (or file) name for EasyEdit's cache layout, from the normalised absolute
   * path: {@code --model x/..} names x's parent, never {@code ..} (which would put the cache above
   * {@code stats_dir}).
   */
  static String folderName(Path model) {
    Path p = model.toAbsolutePath().normalize().getFileName();
    return p == null ? "model" : p.toString();
  }

  /** A progress display of one long task (a bar on the terminal). */
  @FunctionalInterface
  public interface Progress {
    Bar start(String task, long max);

    /** Discards progress. */
    Progress NONE =
        (task, max) ->
            new Bar() {
              @Override
              public void stepTo(long done) {}

              @Override
              public void close() {}
            };

    /** One running task. */
    interface Bar extends AutoCloseable {
      void stepTo(long done);

      @Override
      void close();
    }
  }

  /**
   * Where C comes from.
   *
   * @param home the directory relative {@code stats_dir} and {@code mom2_dataset} paths resolve
   *     against
   * @param statsDir {@code stats_dir}
   * @param settings {@code mom2_*}
   * @param moduleTemplate {@code rewrite_module_tmp}, e.g. {@code model.layers.{}.mlp.down_proj}
   * @param layers the edited layers
   * @param modelPath the model (its file name is EasyEdit's model directory in the cache path)
   * @param tool the tool and version recorded in the provenance
   */
  public record Source(
      Path home,
      String statsDir,
      SecondMomentSettings settings,
      String moduleTemplate,
      List<Integer> layers,
      Path modelPath,
      String tool) {}

  /**
   * Layer → C as a row-major F×F array, for every layer of {@code src}.
   *
   * @param messages one line per layer: read from the cache, or computed and saved
   */
  public static IntFunction<double[]> load(
      LlamaModel m,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      Source src,
      Progress progress,
      Consumer<String> messages)
      throws IOException {
    Map<Integer, double[]> byLayer = new HashMap<>();
    SecondMomentSettings s = src.settings();
    Path corpusPath = src.home().resolve(s.dataset());
    String dataset = corpusPath.getFileName().toString().replaceFirst("\\.[^.]*$", "");
    if (!Files.isRegularFile(corpusPath)) {
      throw new IllegalArgumentException(
          "mom2_dataset "
              + corpusPath
              + " does not exist: give a text or JSONL"
              + " file, or set mom2_adjustment: false");
    }
    TextCorpus corpus = TextCorpus.read(corpusPath);
    for (int layer : src.layers()) {
      String module = ModuleTemplates.atLayer(src.moduleTemplate(), layer);
      Path easyEdit =
          SecondMomentFile.cachePath(
              src.home().resolve(src.statsDir()),
              folderName(src.modelPath()),
              dataset,
              module,
              s.dtype(),
              s.nSamples());
      String key =
          StatisticsKey.of(m.weights(), layer, tok, corpus.sha256(), policy.name(), MAX_LENGTH);
      Path cache = SecondMomentFile.keyedPath(easyEdit, key);
      SecondMoment c = cached(cache, easyEdit, key, module, messages);
      if (c == null) {
        List<String> texts = corpus.first(s.nSamples());
        SecondMomentProvenance prov =
            new SecondMomentProvenance(
                corpusPath.toString(),
                corpus.sha256(),
                texts.size(),
                0,
                module,
                policy.storage().name(),
                KeyStatistics.ACCUMULATION,
                s.dtype(),
                src.modelPath().toString(),
                "",
                src.tool(),
                key);
        int n = texts.size();
        try (Progress.Bar bar = progress.start("key statistics " + module, n)) {
          c =
              KeyStatistics.compute(
                  m,
                  tok,
                  policy,
                  ctx,
                  layer,
                  texts,
                  MAX_LENGTH,
                  Optional.of(prov),
                  i -> bar.stepTo(i + 1));
        }
        SecondMomentFile.write(cache, c, s.dtype(), s.nSamples());
        // Use C as stored (mom2_dtype, e.g. float32), so this run and every later run that reads
        // the cache edit with the same C.
        c = SecondMomentFile.read(cache);
        messages.accept(
            "key second moment of "
                + module
                + " computed from "
                + n
                + " texts ("
                + c.count()
                + " keys), saved to "
                + cache);
      }
      byLayer.put(layer, c.moment());
    }
    return layer -> {
      double[] c = byLayer.get(layer);
      if (c == null) {
        throw new IllegalArgumentException("no key second moment for layer " + layer);
      }
      return c;
    };
  }
}
