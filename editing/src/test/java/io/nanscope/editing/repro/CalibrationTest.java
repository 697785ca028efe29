package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.editing.RepoPaths;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LlamaWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Calibration on the embedded model with a small probe set (2 stories of 48 tokens + 3 edit
 * records, to keep the test fast; the command's default is 24 × 256): the chosen layers' SwiGLU
 * peak lands on fraction·65,504, the function is unchanged, the written directory reads back to the
 * same logits, and bad input gives one clear message.
 */
class CalibrationTest {

  static final Path MODEL = RepoPaths.inRepo("models/stories260K");
  static final OpContext CTX = OpContext.DEFAULT;
  static LlamaWeights w;
  static Tokenizer tok;
  static Calibration.Probe probe;
  static Calibration.Profile natural;

  @BeforeAll
  static void setUp() throws IOException {
    w = LlamaWeights.read(MODEL);
    tok = Tokenizer.readFromDirectory(MODEL);
    List<EditRequest> records =
        EditDatasets.knowEdit(RepoPaths.inRepo("configs/edits/tinystories-edits.json"))
            .subList(0, 3);
    probe = Calibration.probe(LlamaModel.of(w.config(), w), tok, records, 2, 48, 42, CTX);
    natural =
        Calibration.profile(
            LlamaModel.of(w.config(), w), tok, probe, PrecisionPolicy.named("fp32"), CTX);
  }

  @Test
  void probeIsSeededAndHoldsStoriesThenEditPrompts() throws IOException {
    Calibration.Probe again =
        Calibration.probe(
            LlamaModel.of(w.config(), w),
            tok,
            EditDatasets.knowEdit(RepoPaths.inRepo("configs/edits/tinystories-edits.json"))
                .subList(0, 3),
            2,
            48,
            42,
            CTX);
    assertThat(again.texts()).isEqualTo(probe.texts());
    assertThat(probe.texts()).contains("Lily's favorite toy is a", "The toy Lily likes best is a");
    assertThat(probe.texts().size())
        .isBetween(7, 8); // 2 stories + 3 prompts + 3 rephrases (distinct)
  }

  @Test
  void measureGivesTheProfileAndTheUntracedLogitsBitForBit() {
    LlamaModel m = LlamaModel.of(w.config(), w);
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    Calibration.Measurement one = Calibration.measure(m, tok, probe, fp32, CTX);
    assertThat(one.profile().sites()).isEqualTo(natural.sites());
    List<Tensor> untraced = Calibration.logits(m, tok, probe.texts(), fp32, CTX);
    assertThat(one.logits()).hasSameSizeAs(probe.texts());
    for (int i = 0; i < untraced.size(); i++) {
      assertThat(one.logits().get(i).shape()).isEqualTo(untraced.get(i).shape());
      assertThat(bits(one.logits().get(i))).isEqualTo(bits(untraced.get(i)));
    }
  }

  @Test
  void theProofAndTheCalibratedProfileFromOnePassEqualTheSeparatePasses() {
    int[] layers = {3, 4};
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    LlamaModel m0 = LlamaModel.of(w.config(), w);
    Calibration.Measurement before = Calibration.measure(m0, tok, probe, fp32, CTX);
    Calibration.Result fused =
        Calibration.calibrate(
            w, tok, probe, before.profile(), before.logits(), 0.8, layers, 1, CTX);
    Calibration.Result measured =
        Calibration.calibrate(w, tok, probe, null, null, 0.8, layers, 1, CTX);
    // the two separate passes: the proof against the original, the profile of the calibrated model
    LlamaModel m1 = LlamaModel.of(w.config(), fused.weights());
    double separateDiff = Calibration.maxRelativeDifference(m0, m1, tok, probe.texts(), fp32, CTX);
    Calibration.Profile separateAfter = Calibration.profile(m1, tok, probe, fp32, CTX);
    for (Calibration.Result r : List.of(fused, measured)) {
      assertThat(r.maxRelativeDifference()).isEqualTo(separateDiff);
      assertThat(r.after().sites()).isEqualTo(separateAfter.sites());
      assertThat(r.before().sites()).isEqualTo(natural.sites());
      assertThat(r.calibratedPeaks()).isEqualTo(separateAfter.mlpPeaks(w.config().nLayers()));
    }
    assertThat(separateDiff).isGreaterThan(0).isLessThanOrEqualTo(1e-5);
  }

  private static int[] bits(Tensor t) {
    float[] f = t.toFloatArray();
    int[] b = new int[f.length];
    for (int i = 0; i < f.length; i++) {
      b[i] = Float.floatToRawIntBits(f[i]);
    }
    return b;
  }

  @Test
  void lateLayersLandOnTheTargetAndTheFunctionIsUnchanged() {
    Calibration.Result r =
        Calibration.calibrate(w, tok, probe, natural, 0.9, new int[] {3, 4}, 1, CTX);
    double target = 0.9 * 65504;
    assertThat(r.factors()[0]).isEqualTo(1);
    assertThat(r.factors()[1]).isEqualTo(1);
    assertThat(r.factors()[2]).isEqualTo(1);
    assertThat(r.factors()[3]).isEqualTo(target / r.naturalPeaks()[3]);
    // The calibrated model, measured again: the peak is the target up to FP32 rounding of W3·a.
    assertThat(r.calibratedPeaks()[3]).isCloseTo(target, within(target * 1e-5));
    assertThat(r.calibratedPeaks()[4]).isCloseTo(target, within(target * 1e-5));
    assertThat(r.calibratedPeaks()[1]).isEqualTo(r.naturalPeaks()[1]);
    assertThat(r.maxRelativeDifference())
        .isLessThanOrEqualTo(Calibration.MAX_RELATIVE_DIFFERENCE)
        .isGreaterThan(0);
    // FP16 headroom of the product is now log2(1/0.9) = 0.152 binades, from ≥ 12 before.
    assertThat(r.after().fp16HeadroomBySite().get(Calibration.MLP_PRODUCT)[0])
        .isCloseTo(Math.log(1 / 0.9) / Math.log(2), within(1e-4));
    assertThat(r.before().fp16HeadroomBySite().get(Calibration.MLP_PRODUCT)[0]).isGreaterThan(10);
    assertThat(Calibration.describe(r))
        .contains(Calibration.LABEL)
        .contains("max relative difference")
        .contains("mlp.act_mul_up");
  }

  @Test
  void writtenDirectoryLoadsBackWithTheSameLogits(@TempDir Path tmp) throws IOException {
    Calibration.Result r =
        Calibration.calibrate(w, tok, probe, natural, 0.8, new int[] {4}, 3, CTX);
    Path out = tmp.resolve("cal");
    Calibration.write(r, tok, "models/stories260K", out);
    LlamaModel back = LlamaModel.load(out, FloatFormat.FP32);
    assertThat(back.config().normEps()).isEqualTo(w.config().normEps() * 3 * 3);
    assertThat(back.config().tieWordEmbeddings()).isFalse();
    // The directory is in the HF layout (wq/wk rows permuted for rotate_half), which reorders the
    // terms of attention's head-dimension dots. The in-memory weights in that same layout must give
    // the loaded model's logits exactly: every tensor and config value written and read back.
    LlamaWeights sameLayout = r.weights().withRopeLayout(back.config().ropeLayout());
    LlamaModel inMemory = LlamaModel.of(sameLayout.config(), sameLayout);
    assertThat(
            Calibration.maxRelativeDifference(
                inMemory, back, tok, probe.texts(), PrecisionPolicy.named("fp32"), CTX))
        .isEqualTo(0.0);
    assertThat(
            Calibration.maxRelativeDifference(
                LlamaModel.of(w.config(), w),
                back,
                tok,
                probe.texts(),
                PrecisionPolicy.named("fp32"),
                CTX))
        .isLessThanOrEqualTo(Calibration.MAX_RELATIVE_DIFFERENCE);
    assertThat(Files.readString(out.resolve("CALIBRATION.md")))
        .contains("NOT Llama-2-7B magnitudes");
    String json = Files.readString(out.resolve("calibration.json"));
    assertThat(json)
        .contains("\"label\" : \"" + Calibration.LABEL + "\"")
        .contains("\"mlp_factors\"")
        .contains("\"residual_scale\" : 3.0")
        .contains(Double.toString(r.factors()[4]));
    assertThat(Tokenizer.readFromDirectory(out).encode("Lily saw a dog.", true, false))
        .containsExactly(tok.encode("Lily saw a dog.", true, false));
  }

  @Test
  void writingIntoANonEmptyDirectoryFailsAndLeavesNothing(@TempDir Path tmp) throws IOException {
    Calibration.Result r =
        Calibration.calibrate(w, tok, probe, natural, 0.5, new int[] {4}, 1, CTX);
    Files.writeString(tmp.resolve("keep.txt"), "x");
    assertThatThrownBy(() -> Calibration.write(r, tok, "m", tmp)).hasMessageContaining("not empty");
    try (var s = Files.list(tmp)) {
      assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("keep.txt");
    }
  }

  @Test
  void layerSelections() {
    assertThat(Calibration.parseLayers("late", 5)).containsExactly(3, 4);
    assertThat(Calibration.parseLayers("ALL", 5)).containsExactly(0, 1, 2, 3, 4);
    assertThat(Calibration.parseLayers(" 4, 2,4 ", 5)).containsExactly(2, 4);
    assertThat(Calibration.parseLayers("late", 1)).containsExactly(0);
    assertThatThrownBy(() -> Calibration.parseLayers("5", 5))
        .hasMessageContaining("names layer 5")
        .hasMessageContaining("0..4");
    assertThatThrownBy(() -> Calibration.parseLayers("-1", 5))
        .hasMessageContaining("names layer -1");
    assertThatThrownBy(() -> Calibration.parseLayers("early", 5))
        .hasMessageContaining("unknown --layers 'early'");
    assertThatThrownBy(() -> Calibration.parseLayers("", 5))
        .hasMessageContaining("--layers is empty");
  }

  @Test
  void fractionMustBeInZeroOne() {
    for (double f : new double[] {0, -0.5, 1.0001, Double.NaN, Double.POSITIVE_INFINITY}) {
      assertThatThrownBy(() -> Calibration.checkFraction(f))
          .hasMessageContaining("--mlp-peak")
          .hasMessageContaining("(0, 1]");
    }
    Calibration.checkFraction(1);
    Calibration.checkFraction(1e-9);
    assertThatThrownBy(
            () -> Calibration.calibrate(w, tok, probe, natural, 0, new int[] {4}, 1, CTX))
        .hasMessageContaining("--mlp-peak");
  }
}
