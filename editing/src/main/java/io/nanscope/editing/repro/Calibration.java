package io.nanscope.editing.repro;

import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.io.AtomicFile;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.HfCheckpoint;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.StagedDirectory;
import io.nanscope.llama.weights.WeightNames;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * Magnitude calibration for the FP16 stress test: measures each layer's natural maximum of the
 * SwiGLU product {@code |silu(gate)·up|} (site {@code layers.l.mlp.act_mul_up}, the down_proj
 * input) on a probe set, scales the chosen layers' MLPs by a_l = fraction·65,504 / natural max
 * ({@link Reparametrisation#mlpScale}; optionally the residual stream by c, {@link
 * Reparametrisation#residualScale}) and PROVES the function is unchanged: the FP32 logits of the
 * probe set before and after differ by at most {@link #MAX_RELATIVE_DIFFERENCE}.
 *
 * <p>{@value #LABEL}: the result moves the largest natural SwiGLU product to a chosen fraction of
 * FP16's maximum; it says nothing about the magnitudes of any real large model (findings Part B).
 */
public final class Calibration {

  /** What every output of a calibration is labelled with. */
  public static final String LABEL = "stress calibration — NOT Llama-2-7B magnitudes";

  /** FP16's largest finite value. */
  public static final double FP16_MAX = FloatFormat.FP16.info().maxFinite();

  /**
   * Bound on the FP32 logit difference, relative to the logits' scale (see {@link
   * #maxRelativeDifference}). FP32 forward noise is ~1e-6 relative here (24-bit significands, K ≤
   * 172-term dot products, each rescaled weight rounded once); a broken reparametrisation is off by
   * O(1) (e.g. eps not scaled: 5e-5; classifier left tied: the logits ×c).
   */
  public static final double MAX_RELATIVE_DIFFERENCE = 1e-5;

  /** The site whose natural maximum the MLP scale targets, inside each layer. */
  public static final String MLP_PRODUCT = "mlp.act_mul_up";

  private Calibration() {}

  // ------------------------------------------------------------------------------------ probe set

  /**
   * The texts magnitudes are measured on.
   *
   * @param texts sampled stories, then the edit set's prompts
   * @param description how they were made
   */
  public record Probe(List<String> texts, String description) {
    public Probe {
      texts = List.copyOf(texts);
      if (texts.isEmpty()) {
        throw new IllegalArgumentException(
            "the probe set is empty: give at least one story or edit prompt");
      }
    }
  }

  /**
   * {@code stories} texts of {@code storyTokens} tokens (BOS counted) sampled from {@code model} at
   * temperature 1 (softmax, multinomial over the whole vocabulary, seeded), then every edit
   * record's prompt and rephrase (subject filled in).
   */
  public static Probe probe(
      LlamaModel model,
      Tokenizer tok,
      List<EditRequest> records,
      int stories,
      int storyTokens,
      long seed,
      OpContext ctx) {
    if (stories < 0 || storyTokens < 2) {
      throw new IllegalArgumentException(
          "need stories >= 0 and storyTokens >= 2, got " + stories + " and " + storyTokens);
    }
    GenerateFast gen = new GenerateFast(model, tok, PrecisionPolicy.named("fp32"), ctx);
    SplittableRandom rng = new SplittableRandom(seed);
    Set<String> texts = new LinkedHashSet<>();
    for (int i = 0; i < stories; i++) {
      texts.add(gen.generateOne("", storyTokens, model.config().vocabSize(), rng));
    }
    for (EditRequest r : records) {
      texts.add(r.filledPrompt());
      r.rephrase().ifPresent(texts::add);
    }
    texts.removeIf(String::isBlank);
    return new Probe(
        new ArrayList<>(texts),
        stories
            + " stories of "
            + storyTokens
            + " tokens sampled at temperature 1 (fp32, seed "
            + seed
            + ") + "
            + records.size()
            + " edit records' prompts and rephrases");
  }

  // ------------------------------------------------------------------------------------ profile

  /**
   * Per-site maxima of a forward pass over the probe set (one text per batch, so no padding enters
   * the maxima).
   *
   * @param sites one merged row per (site, op) of the forward pass
   */
  public record Profile(List<SiteStats> sites) {
    public Profile {
      sites = List.copyOf(sites);
    }

    /** max|x| of {@code siteInLayer} at layer {@code layer} (0 if that site never ran). */
    public double maxAbs(int layer, String siteInLayer) {
      double m = 0;
      for (SiteStats s : sites) {
        if (s.layer() == layer && s.siteInLayer().equals(siteInLayer)) {
          m = Math.max(m, s.output().maxAbs());
        }
      }
      return m;
    }

    /** The natural maximum of the SwiGLU product per layer. */
    public double[] mlpPeaks(int nLayers) {
      double[] p = new double[nLayers];
      for (int l = 0; l < nLayers; l++) {
        p[l] = maxAbs(l, MLP_PRODUCT);
      }
      return p;
    }

    /**
     * Per site kind (site without its layer prefix, in order of appearance): the smallest FP16
     * headroom over layers, log2(65,504 / max|x|), and the layer where it is smallest (-1 outside
     * layers).
     */
    public Map<String, double[]> fp16HeadroomBySite() {
      Map<String, double[]> out = new LinkedHashMap<>();
      for (SiteStats s : sites) {
        double h = s.output().headroomIn(FloatFormat.FP16);
        double[] cur = out.get(s.siteInLayer());
        if (cur == null || h < cur[0]) {
          out.put(s.siteInLayer(), new double[] {h, s.layer()});
        }
      }
      return out;
    }
  }

  /** Runs the probe set through {@code model} under {@code policy} and collects per-site maxima. */
  public static Profile profile(
      LlamaModel model, Tokenizer tok, Probe probe, PrecisionPolicy policy, OpContext ctx) {
    return traced(model, tok, probe, policy, ctx, (i, logits) -> {});
  }

  /**
   * A probe profile and the logits of each probe text (one text per batch), in probe order.
   *
   * @param logits (T_i, V) per text
   */
  public record Measurement(Profile profile, List<Tensor> logits) {
    public Measurement {
      logits = List.copyOf(logits);
    }
  }

  /**
   * {@link #profile} and {@link #logits} from one forward per text instead of two: the profile's
   * tracer only reads each op's output, so the logits are those of an untraced forward, bit for bit
   * (tested).
   */
  public static Measurement measure(
      LlamaModel model, Tokenizer tok, Probe probe, PrecisionPolicy policy, OpContext ctx) {
    List<Tensor> logits = new ArrayList<>(probe.texts().size());
    Profile p = traced(model, tok, probe, policy, ctx, (i, l) -> logits.add(l));
    return new Measurement(p, logits);
  }

  /** The probe profile; each text's logits (T_i, V) go to {@code logits} with the text's index. */
  private static Profile traced(
      LlamaModel model,
      Tokenizer tok,
      Probe probe,
      PrecisionPolicy policy,
      OpContext ctx,
      BiConsumer<Integer, Tensor> logits) {
    TraceContext tc = new TraceContext().setLabel("calibration probe");
    StatsTracer stats = new StatsTracer(tc, Set.of(Phase.FORWARD));
    OpContext c = ctx.withTracer(stats);
    for (int i = 0; i < probe.texts().size(); i++) {
      SequenceBatch batch =
          new SequenceBatch(new int[][] {encode(tok, probe.texts().get(i), model)});
      logits.accept(i, model.forward(batch, policy, c, null, Hooks.none()).logits().value());
    }
    return new Profile(stats.bySite());
  }

  private static int[] encode(Tokenizer tok, String text, LlamaModel model) {
    int[] ids = tok.encode(text, true, false);
    return ids.length > model.config().maxSeqLen()
        ? Arrays.copyOf(ids, model.config().maxSeqLen())
        : ids;
  }

  // ------------------------------------------------------------------------------------ layers

  /**
   * Parses a layer selection: {@code late} (the last two layers, by analogy with Llama-2-7B's layer
   * 30 of 32 in transformers #27179), {@code all}, or comma-separated layer numbers.
   */
  public static int[] parseLayers(String spec, int nLayers) {
    String s = spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT);
    if (s.equals("late")) {
      return nLayers >= 2 ? new int[] {nLayers - 2, nLayers - 1} : new int[] {0};
    }
    if (s.equals("all")) {
      int[] all = new int[nLayers];
      Arrays.setAll(all, i -> i);
      return all;
    }
    String expected = "expected late, all or comma-separated layer numbers in 0.." + (nLayers - 1);
    if (s.isEmpty()) {
      throw new IllegalArgumentException("--layers is empty: " + expected);
    }
    Set<Integer> out = new LinkedHashSet<>();
    for (String part : s.split(",")) {
      int l;
      try {
        l = Integer.parseInt(part.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("unknown --layers '" + spec + "': " + expected);
      }
      if (l < 0 || l >= nLayers) {
        throw new IllegalArgumentException(
            "--layers '"
                + spec
                + "' names layer "
                + l
                + ", but the model has "
                + nLayers
                + " layers: "
                + expected);
      }
      out.add(l);
    }
    return out.stream().mapToInt(Integer::intValue).sorted().toArray();
  }

  // ------------------------------------------------------------------------------------ calibrate

  /**
   * What a calibration did.
   *
   * @param fraction target peak as a fraction of FP16's maximum
   * @param layers the scaled layers
   * @param residualScale c (1 = not applied)
   * @param naturalPeaks per layer, the probe set's max|silu(gate)·up| before
   * @param factors per layer a_l (1 for layers not chosen)
   * @param calibratedPeaks per layer, the same maximum measured on the calibrated model (FP32)
   * @param maxRelativeDifference FP32 logits before vs after, see {@link #maxRelativeDifference}
   * @param before, after the FP32 probe profiles
   * @param weights the calibrated weights (FP32, heap copies of every changed tensor)
   * @param probe the probe set
   */
  public record Result(
      double fraction,
      int[] layers,
      double residualScale,
      double[] naturalPeaks,
      double[] factors,
      double[] calibratedPeaks,
      double maxRelativeDifference,
      Profile before,
      Profile after,
      LlamaWeights weights,
      Probe probe) {}

  /**
   * The scale factors for {@code fraction}: a_l = fraction·65,504 / naturalPeaks[l] for the chosen
   * layers.
   */
  public static double[] factors(double[] naturalPeaks, double fraction, int[] layers) {
    checkFraction(fraction);
    double[] a = new double[naturalPeaks.length];
    Arrays.fill(a, 1);
    for (int l : layers) {
      if (!(naturalPeaks[l] > 0)) {
        throw new IllegalArgumentException(
            "layer "
                + l
                + "'s SwiGLU product is 0 on the whole probe set:"
                + " nothing to scale; choose other --layers");
      }
      a[l] = fraction * FP16_MAX / naturalPeaks[l];
    }
    return a;
  }

  /** Throws unless 0 &lt; fraction ≤ 1. */
  public static void checkFraction(double fraction) {
    if (!(fraction > 0 && fraction <= 1)) {
      throw new IllegalArgumentException(
          "--mlp-peak must be a fraction of FP16's maximum in (0, 1], got "
              + fraction
              + " (e.g. 0.92 puts the largest natural SwiGLU product at 60,264)");
    }
  }

  /**
   * Calibrates {@code original}: measures (unless {@code natural} is given), scales, proves. Throws
   * {@link IllegalStateException} when the FP32 logits moved by more than {@link
   * #MAX_RELATIVE_DIFFERENCE} — the reparametrisation would not be exact.
   *
   * @param natural the original model's FP32 profile on {@code probe}, or null to measure it
   */
  public static Result calibrate(
      LlamaWeights original,
      Tokenizer tok,
      Probe probe,
      Profile natural,
      double fraction,
      int[] layers,
      double residualScale,
      OpContext ctx) {
    return calibrate(original, tok, probe, natural, null, fraction, layers, residualScale, ctx);
  }

  /**
   * {@link #calibrate(LlamaWeights, Tokenizer, Probe, Profile, double, int[], double, OpContext)}
   * with the original model's FP32 logits on the probe texts given ({@link #logits}; null to
   * compute them): a caller that calibrates one model at many fractions computes them once.
   */
  public static Result calibrate(
      LlamaWeights original,
      Tokenizer tok,
      Probe probe,
      Profile natural,
      List<Tensor> originalLogits,
      double fraction,
      int[] layers,
      double residualScale,
      OpContext ctx) {
    checkFraction(fraction);
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    LlamaWeights w0 = allFp32(original) ? original : original.to(FloatFormat.FP32);
    LlamaModel m0 = LlamaModel.of(w0.config(), w0);
    Profile before;
    List<Tensor> reference;
    if (natural != null && originalLogits != null) {
      before = natural;
      reference = originalLogits;
    } else if (natural != null) {
      before = natural;
      reference = logits(m0, tok, probe.texts(), fp32, ctx);
    } else {
      Measurement m = measure(m0, tok, probe, fp32, ctx);
      before = m.profile();
      reference = originalLogits != null ? originalLogits : m.logits();
    }
    int n = w0.config().nLayers();
    double[] peaks = before.mlpPeaks(n);
    double[] a = factors(peaks, fraction, layers);
    LlamaWeights w1 =
        Reparametrisation.mlpScale(
            residualScale == 1 ? w0 : Reparametrisation.residualScale(w0, residualScale), a);
    LlamaModel m1 = LlamaModel.of(w1.config(), w1);
    // The proof and the calibrated profile from the same forwards (the tracer does not change the
    // logits): one forward per probe text instead of two.
    double[] worst = {0};
    Profile after =
        traced(
            m1,
            tok,
            probe,
            fp32,
            ctx,
            (i, lb) -> worst[0] = Math.max(worst[0], relativeDifference(reference.get(i), lb)));
    double diff = worst[0];
    if (!(diff <= MAX_RELATIVE_DIFFERENCE)) {
      throw new IllegalStateException(
          String.format(
              Locale.ROOT,
              "the calibration changed the function: FP32 logits differ by %.3g relative (bound %.0e); the"
                  + " rescaled weights are NOT an exact reparametrisation — do not use them",
              diff,
              MAX_RELATIVE_DIFFERENCE));
    }
    return new Result(
        fraction,
        layers.clone(),
        residualScale,
        peaks,
        a,
        after.mlpPeaks(n),
        diff,
        before,
        after,
        w1,
        probe);
  }

  /**
   * The largest difference of the logits of {@code a} and {@code b} over the texts, relative to the
   * logits' scale: max over texts of {@code max_i |a_i − b_i| / max_i |a_i|} (all positions, all
   * vocabulary entries). Scale-relative rather than element-relative, because logits near 0 have no
   * meaningful relative error.
   */
  public static double maxRelativeDifference(
      LlamaModel a,
      LlamaModel b,
      Tokenizer tok,
      List<String> texts,
      PrecisionPolicy policy,
      OpContext ctx) {
    return maxRelativeDifference(logits(a, tok, texts, policy, ctx), b, tok, texts, policy, ctx);
  }

  /** The logits of {@code model} on each text (one text per batch), for {@link #calibrate}. */
  public static List<Tensor> logits(
      LlamaModel model, Tokenizer tok, List<String> texts, PrecisionPolicy policy, OpContext ctx) {
    List<Tensor> out = new ArrayList<>(texts.size());
    for (String text : texts) {
      SequenceBatch batch = new SequenceBatch(new int[][] {encode(tok, text, model)});
      out.add(model.forward(batch, policy, ctx, null, Hooks.none()).logits().value());
    }
    return out;
  }

  /**
   * {@link #maxRelativeDifference(LlamaModel, LlamaModel, Tokenizer, List, PrecisionPolicy,
   * OpContext)} with the first model's logits given ({@link #logits}).
   */
  static double maxRelativeDifference(
      List<Tensor> reference,
      LlamaModel b,
      Tokenizer tok,
      List<String> texts,
      PrecisionPolicy policy,
      OpContext ctx) {
    double worst = 0;
    for (int t = 0; t < texts.size(); t++) {
      SequenceBatch batch = new SequenceBatch(new int[][] {encode(tok, texts.get(t), b)});
      Tensor lb = b.forward(batch, policy, ctx, null, Hooks.none()).logits().value();
      worst = Math.max(worst, relativeDifference(reference.get(t), lb));
    }
    return worst;
  }

  /**
   * {@code max_i |a_i − b_i| / max_i |a_i|} over one text's logits (+inf once a difference is NaN
   * or infinite; 0/0 = 0).
   */
  private static double relativeDifference(Tensor la, Tensor lb) {
    double diff = 0, scale = 0;
    for (long i = 0; i < la.size(); i++) {
      double x = la.getDouble(i), y = lb.getDouble(i);
      diff = Double.isNaN(y - x) ? Double.POSITIVE_INFINITY : Math.max(diff, Math.abs(y - x));
      scale = Math.max(scale, Math.abs(x));
      if (diff == Double.POSITIVE_INFINITY) {
        break;
      }
    }
    return scale == 0 ? (diff == 0 ? 0 : Double.POSITIVE_INFINITY) : diff / scale;
  }

  static boolean allFp32(LlamaWeights w) {
    if (w.embedding().format() != FloatFormat.FP32
        || w.classifier().format() != FloatFormat.FP32
        || w.finalNorm().format() != FloatFormat.FP32) {
      return false;
    }
    for (var lw : w.layers()) {
      for (WeightNames.Layer t : WeightNames.Layer.values()) {
        if (lw.get(t).format() != FloatFormat.FP32) {
          return false;
        }
      }
    }
    return true;
  }

  // ------------------------------------------------------------------------------------ report

  /** The factors, the proof and the FP16 headroom profile before/after, as printed and written. */
  public static String describe(Result r) {
    StringBuilder b = new StringBuilder();
    b.append(LABEL).append('\n');
    b.append(
        String.format(
            Locale.ROOT,
            "target: the largest natural |silu(gate)*up| of layers %s at %.4g of FP16's"
                + " maximum (%,.0f)%n",
            Arrays.toString(r.layers()),
            r.fraction(),
            r.fraction() * FP16_MAX));
    if (r.residualScale() != 1) {
      b.append(
          String.format(
              Locale.ROOT,
              "residual scale c = %.6g: embedding, every wo and w2 x c, rms_norm_eps x c^2,"
                  + " classifier untied and unscaled%n",
              r.residualScale()));
    }
    b.append("probe set: ")
        .append(r.probe().texts().size())
        .append(" texts, ")
        .append(r.probe().description())
        .append('\n');
    b.append(
        String.format(
            Locale.ROOT, "%-6s %16s %14s %18s%n", "layer", "natural max", "a_l", "calibrated max"));
    for (int l = 0; l < r.factors().length; l++) {
      b.append(
          String.format(
              Locale.ROOT,
              "%-6d %16.6g %14.8g %18.6g%n",
              l,
              r.naturalPeaks()[l],
              r.factors()[l],
              r.calibratedPeaks()[l]));
    }
    b.append(
        String.format(
            Locale.ROOT,
            "function unchanged: FP32 logits before/after, max relative difference %.3g"
                + " (bound %.0e) over %d probe texts%n",
            r.maxRelativeDifference(),
            MAX_RELATIVE_DIFFERENCE,
            r.probe().texts().size()));
    b.append(
        "FP16 headroom log2(65504/max|x|) in binades, smallest over layers [layer], FP32 forward on the probe set:\n");
    b.append(String.format(Locale.ROOT, "%-34s %16s %16s%n", "site", "before", "after"));
    Map<String, double[]> h0 = r.before().fp16HeadroomBySite();
    Map<String, double[]> h1 = r.after().fp16HeadroomBySite();
    for (Map.Entry<String, double[]> e : h0.entrySet()) {
      double[] after = h1.get(e.getKey());
      b.append(
          String.format(
              Locale.ROOT,
              "%-34s %16s %16s%s%n",
              e.getKey(),
              headroom(e.getValue()),
              after == null ? "-" : headroom(after),
              after != null && after[0] < 1 ? "  <-- < 1 binade" : ""));
    }
    return b.toString();
  }

  private static String headroom(double[] h) {
    String v =
        Double.isInfinite(h[0])
            ? (h[0] > 0 ? "inf" : "-inf")
            : String.format(Locale.ROOT, "%.2f", h[0]);
    return h[1] >= 0 ? v + " [" + (int) h[1] + "]" : v;
  }

  /** Every factor and measurement as JSON-ready values (written as calibration.json). */
  public static Map<String, Object> toMap(Result r, String source) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("label", LABEL);
    m.put("source_model", source);
    m.put("mlp_peak_fraction", r.fraction());
    m.put("mlp_peak_target", r.fraction() * FP16_MAX);
    m.put("layers", Arrays.stream(r.layers()).boxed().toList());
    m.put("residual_scale", r.residualScale());
    m.put("rms_norm_eps", r.weights().config().normEps());
    m.put("tie_word_embeddings", r.weights().config().tieWordEmbeddings());
    m.put("natural_peaks", Arrays.stream(r.naturalPeaks()).boxed().toList());
    m.put("mlp_factors", Arrays.stream(r.factors()).boxed().toList());
    m.put("calibrated_peaks", Arrays.stream(r.calibratedPeaks()).boxed().toList());
    m.put("fp32_logits_max_relative_difference", r.maxRelativeDifference());
    m.put("fp32_logits_bound", MAX_RELATIVE_DIFFERENCE);
    m.put("probe", r.probe().description());
    m.put("probe_texts", r.probe().texts());
    return m;
  }

  /**
   * Writes the calibrated model as a Hugging Face directory {@code out} (config.json with the new
   * rms_norm_eps, model.safetensors in F32, tokenizer files) with {@code CALIBRATION.md} and {@code
   * calibration.json}; the directory appears only when everything was written.
   */
  public static void write(Result r, Tokenizer tok, String source, Path out) throws IOException {
    StagedDirectory.create(
        out,
        dir -> {
          HfCheckpoint.write(r.weights(), FloatFormat.FP32, dir, 0);
          tok.writeHfFiles(dir);
          AtomicFile.write(
              dir.resolve("calibration.json"),
              JsonMapper.builder()
                  .enable(SerializationFeature.INDENT_OUTPUT)
                  .build()
                  .writeValueAsString(toMap(r, source)));
          AtomicFile.write(
              dir.resolve("CALIBRATION.md"),
              "# "
                  + LABEL
                  + "\n\n"
                  + "Made by `nanscope calibrate` from `"
                  + source
                  + "`. An exact function-preserving rescaling: the"
                  + " model computes the same function as its source (FP32 logits checked below), with magnitudes moved"
                  + " towards FP16's limit to stress-test FP16 editing. These are not the magnitudes of Llama-2-7B or of"
                  + " any real model.\n\n```\n"
                  + describe(r)
                  + "```\n");
        });
  }
}
