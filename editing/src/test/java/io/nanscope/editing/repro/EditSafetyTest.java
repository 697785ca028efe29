package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.editing.RepoPaths;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.AnomalyTracer;
import io.nanscope.engine.trace.CompositeTracer;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.engine.trace.StatsTracer;
import io.nanscope.engine.trace.TraceContext;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The edit-safety prediction against the real thing: layer 1's W_down scaled by 2^s is predicted
 * from the unedited model, then written and run, traced, and the traced unrounded down_proj and
 * residual_mlp maxima are compared with the prediction.
 */
class EditSafetyTest {

  static final Path MODEL = RepoPaths.inRepo("models/stories260K");
  static final PrecisionPolicy FP16 = PrecisionPolicy.named("pytorch-fp16");
  static final String PROBE = "Lily's favorite toy is a doll";

  static Tensor scaled(LlamaModel m, float factor) {
    Tensor w = m.weights().layers().get(1).wDown().copy();
    for (long i = 0; i < w.size(); i++) {
      w.set(i, w.get(i) * factor);
    }
    return w;
  }

  /** max over the traced forward records of a site, unrounded (the value before FP16 rounding). */
  static double traced(List<SiteStats> rows, String site) {
    return rows.stream()
        .filter(s -> s.at().site().name().equals(site) && s.at().phase() == Phase.FORWARD)
        .mapToDouble(s -> s.output().unroundedMaxAbs())
        .max()
        .orElseThrow();
  }

  /**
   * Scale 2^8: nothing overflows. The prediction sums in FP64 what the op sums in FP32 over F = 172
   * terms (relative error below 172·2^-24 ≈ 1e-5 of Σ|terms|; budget 1e-4 of the value); the
   * residual adds the unrounded y where the model adds y rounded to FP16 (2^-11 relative; budget
   * 1e-3).
   */
  @Test
  void predictionMatchesTheWrittenEditsForward() throws Exception {
    LlamaModel m = LlamaModel.load(MODEL, FloatFormat.FP16);
    Tokenizer tok = Tokenizer.readFromDirectory(MODEL);
    Tensor w = scaled(m, 256f);
    List<EditSafety.Predicted> p =
        EditSafety.predict(m, tok, List.of(PROBE), 1, w, FP16, OpContext.DEFAULT);
    assertThat(p)
        .extracting(EditSafety.Predicted::site)
        .containsExactly("layers.1.mlp.down_proj", "layers.1.residual_mlp");
    assertThat(p).allSatisfy(s -> assertThat(s.overflows()).isFalse());

    Tensor down = m.writableDownProj(1);
    for (long i = 0; i < w.size(); i++) {
      down.set(i, w.get(i));
    }
    StatsTracer stats = new StatsTracer(new TraceContext());
    m.forward(
        SequenceBatch.of(tok.encode(PROBE, true, false)),
        FP16,
        OpContext.DEFAULT.withTracer(stats),
        null,
        Hooks.none());
    double y = traced(stats.rows(), "layers.1.mlp.down_proj");
    double x = traced(stats.rows(), "layers.1.residual_mlp");
    assertThat(p.get(0).maxAbs()).isCloseTo(y, within(1e-4 * y));
    assertThat(p.get(1).maxAbs()).isCloseTo(x, within(1e-3 * x));
  }

  /**
   * Scale 2^16: the prediction warns, before the write, exactly where the written edit's forward
   * then overflows (the anomaly tracer's first event is that down_proj).
   */
  @Test
  void warnsWhereTheWrittenEditOverflows() throws Exception {
    LlamaModel m = LlamaModel.load(MODEL, FloatFormat.FP16);
    Tokenizer tok = Tokenizer.readFromDirectory(MODEL);
    Tensor w = scaled(m, 65536f);
    List<EditSafety.Predicted> p =
        EditSafety.predict(m, tok, List.of(PROBE), 1, w, FP16, OpContext.DEFAULT);
    EditSafety.Predicted d = p.getFirst();
    assertThat(d.overflows()).isTrue();
    assertThat(d.headroom()).isNegative();
    assertThat(d.warning())
        .startsWith("edit-safety check (before writing): layers.1.mlp.down_proj would reach |x| = ")
        .contains("maxFinite 65,504 of fp16")
        .endsWith("this update overflows fp16");

    Tensor down = m.writableDownProj(1);
    for (long i = 0; i < w.size(); i++) {
      down.set(i, w.get(i));
    }
    AnomalyTracer anomaly = AnomalyTracer.recording(new TraceContext());
    m.forward(
        SequenceBatch.of(tok.encode(PROBE, true, false)),
        FP16,
        OpContext.DEFAULT.withTracer(CompositeTracer.of(anomaly)),
        null,
        Hooks.none());
    var first = anomaly.first().orElseThrow();
    assertThat(first.at().site().name()).isEqualTo(d.site());
    assertThat(first.producer()).isTrue();
    assertThat(first.output().infinities()).isPositive();
  }

  /**
   * The fast prediction (FP32 SIMD dots, FP64 only where the FP32 error bound reaches the maximum)
   * gives exactly the FP64 reference's figures — the value, the probe, the position, the token — on
   * the unedited W_down, scaled by 2^8 and 2^16, and with a seeded random perturbation, over four
   * probes.
   */
  @Test
  void fastPredictionEqualsTheFp64Reference() throws Exception {
    LlamaModel m = LlamaModel.load(MODEL, FloatFormat.FP16);
    Tokenizer tok = Tokenizer.readFromDirectory(MODEL);
    List<String> probes =
        List.of(PROBE, "Once upon a time", "Tom went to the park with his dog", "The sky is");
    java.util.SplittableRandom rnd = new java.util.SplittableRandom(13);
    Tensor noisy = scaled(m, 1f);
    for (long i = 0; i < noisy.size(); i++) {
      noisy.set(i, noisy.get(i) + (float) rnd.nextGaussian() * 0.5f);
    }
    for (Tensor w : List.of(scaled(m, 1f), scaled(m, 256f), scaled(m, 65536f), noisy)) {
      List<EditSafety.Predicted> fast =
          EditSafety.predict(m, tok, probes, 1, w, FP16, OpContext.DEFAULT);
      List<EditSafety.Predicted> ref =
          EditSafety.predictReference(m, tok, probes, 1, w, FP16, OpContext.DEFAULT);
      assertThat(fast).hasSize(2).isEqualTo(ref);
    }
  }

  /**
   * FP32 sites are not predicted (an FP32 run does no probe forward); a policy with down_proj in
   * FP32 and the residual in FP16 predicts the residual only, with the reference's figure.
   */
  @Test
  void fp32SitesAreSkipped() throws Exception {
    LlamaModel m = LlamaModel.load(MODEL, FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(MODEL);
    Tensor w = scaled(m, 65536f);
    assertThat(
            EditSafety.predict(
                m, tok, List.of(PROBE), 1, w, PrecisionPolicy.named("fp32"), OpContext.DEFAULT))
        .isEmpty();
    LlamaModel m16 = LlamaModel.load(MODEL, FloatFormat.FP16);
    Tensor w16 = scaled(m16, 65536f);
    PrecisionPolicy downWide =
        PrecisionPolicy.fromMap(
            java.util.Map.of(
                "base",
                "pytorch-fp16",
                "sites",
                java.util.Map.of("layers.1.mlp.down_proj", java.util.Map.of("output", "fp32"))));
    List<EditSafety.Predicted> p =
        EditSafety.predict(m16, tok, List.of(PROBE), 1, w16, downWide, OpContext.DEFAULT);
    assertThat(p).extracting(EditSafety.Predicted::site).containsExactly("layers.1.residual_mlp");
    assertThat(p.getFirst())
        .isEqualTo(
            EditSafety.predictReference(
                    m16, tok, List.of(PROBE), 1, w16, downWide, OpContext.DEFAULT)
                .get(1));
  }

  /** The FP16 threshold: 65,520 rounds to inf, the largest value below it to 65,504. */
  @Test
  void overflowIsJudgedAtTheRoundingThreshold() {
    EditSafety.Predicted at = new EditSafety.Predicted("s", FloatFormat.FP16, 65520, "p", 0, "t");
    EditSafety.Predicted below =
        new EditSafety.Predicted("s", FloatFormat.FP16, Math.nextDown(65520.0), "p", 0, "t");
    assertThat(at.overflows()).isTrue();
    assertThat(below.overflows()).isFalse();
    assertThat(Float.floatToFloat16(65520f)).isEqualTo((short) 0x7c00);
    assertThat(Float.floatToFloat16(Math.nextDown(65520f))).isEqualTo((short) 0x7bff);
  }
}
