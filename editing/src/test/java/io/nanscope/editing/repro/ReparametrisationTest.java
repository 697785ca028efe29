package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.editing.RepoPaths;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LayerWeights;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.WeightNames.Layer;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The reparametrisations are exact: the logits of the rescaled model equal the original's in FP64
 * to 1e-12 relative (the budget: FP64 rounding noise of a 5-layer forward with factors up to 5e3 is
 * ~1e-14; a non-exact change — eps not scaled, classifier left tied — is off by ≥ 1e-7, shown by
 * the negative controls below), and in FP32 to 1e-5 (FP32 forward noise ~1e-6, each rescaled weight
 * rounded once). Magnitudes change as claimed: the residual stream by c, the SwiGLU product by a_l.
 */
class ReparametrisationTest {

  static final Path MODEL = RepoPaths.inRepo("models/stories260K");
  static final PrecisionPolicy FP64 = PrecisionPolicy.uniform("fp64", Precision.FP64);
  static final PrecisionPolicy FP32 = PrecisionPolicy.named("fp32");
  static final double C = 26;
  static final double[] A = {1, 10, 100, 1000, 5000};
  static LlamaWeights w32;
  static LlamaWeights w64;
  static int[] tokens;

  @BeforeAll
  static void load() throws IOException {
    w32 = LlamaWeights.read(MODEL);
    w64 = toFp64(w32);
    tokens =
        Tokenizer.readFromDirectory(MODEL)
            .encode(
                "Once upon a time, Lily went to the park. She saw a big dog and they played.",
                true,
                false);
  }

  /** Every tensor widened to FP64 (exact), config unchanged. */
  static LlamaWeights toFp64(LlamaWeights w) {
    java.util.List<LayerWeights> layers = new java.util.ArrayList<>();
    for (LayerWeights l : w.layers()) {
      layers.add(
          new LayerWeights(
              l.attnNorm().to(FloatFormat.FP64),
              l.wq().to(FloatFormat.FP64),
              l.wk().to(FloatFormat.FP64),
              l.wv().to(FloatFormat.FP64),
              l.wo().to(FloatFormat.FP64),
              l.ffnNorm().to(FloatFormat.FP64),
              l.wGate().to(FloatFormat.FP64),
              l.wUp().to(FloatFormat.FP64),
              l.wDown().to(FloatFormat.FP64)));
    }
    Tensor emb = w.embedding().to(FloatFormat.FP64);
    Tensor cls = w.config().tieWordEmbeddings() ? emb : w.classifier().to(FloatFormat.FP64);
    return new LlamaWeights(w.config(), emb, layers, w.finalNorm().to(FloatFormat.FP64), cls);
  }

  static Tensor logits(LlamaWeights w, PrecisionPolicy p) {
    return LlamaModel.of(w.config(), w)
        .forward(new SequenceBatch(new int[][] {tokens}), p, OpContext.DEFAULT, null, Hooks.none())
        .logits()
        .value();
  }

  /** max |a − b| / max |a|, computed here independently of Calibration. */
  static double relDiff(Tensor a, Tensor b) {
    assertThat(b.shape()).isEqualTo(a.shape());
    double d = 0, s = 0;
    for (long i = 0; i < a.size(); i++) {
      d = Math.max(d, Math.abs(a.getDouble(i) - b.getDouble(i)));
      s = Math.max(s, Math.abs(a.getDouble(i)));
    }
    return d / s;
  }

  @Test
  void residualScaleIsExactInFp64AndFp32() {
    LlamaWeights s64 = Reparametrisation.residualScale(w64, C);
    assertThat(s64.config().normEps()).isEqualTo(w64.config().normEps() * C * C);
    assertThat(s64.config().tieWordEmbeddings()).isFalse();
    assertThat(s64.classifier()).isSameAs(w64.classifier());
    assertThat(relDiff(logits(w64, FP64), logits(s64, FP64))).isLessThanOrEqualTo(1e-12);
    assertThat(relDiff(logits(w32, FP32), logits(Reparametrisation.residualScale(w32, C), FP32)))
        .isLessThanOrEqualTo(1e-5);
  }

  @Test
  void mlpScaleIsExactInFp64AndFp32() {
    assertThat(relDiff(logits(w64, FP64), logits(Reparametrisation.mlpScale(w64, A), FP64)))
        .isLessThanOrEqualTo(1e-12);
    assertThat(relDiff(logits(w32, FP32), logits(Reparametrisation.mlpScale(w32, A), FP32)))
        .isLessThanOrEqualTo(1e-5);
  }

  @Test
  void bothTogetherAreExactAndMoveTheMagnitudes() {
    LlamaWeights both = Reparametrisation.mlpScale(Reparametrisation.residualScale(w64, C), A);
    assertThat(relDiff(logits(w64, FP64), logits(both, FP64))).isLessThanOrEqualTo(1e-12);
    // The tensors changed as claimed (element 7 of each, FP64 so exact up to one rounding of the
    // product).
    assertThat(both.embedding().getDouble(7)).isEqualTo(w64.embedding().getDouble(7) * C);
    assertThat(both.get(2, Layer.WO).getDouble(7)).isEqualTo(w64.get(2, Layer.WO).getDouble(7) * C);
    assertThat(both.get(4, Layer.W_UP).getDouble(7))
        .isEqualTo(w64.get(4, Layer.W_UP).getDouble(7) * 5000);
    assertThat(both.get(4, Layer.W_DOWN).getDouble(7))
        .isEqualTo(
            w64.get(4, Layer.W_DOWN).getDouble(7) * C * (1.0 / 5000)); // two roundings, as applied
    assertThat(both.get(0, Layer.W_UP)).isSameAs(w64.get(0, Layer.W_UP));
  }

  /**
   * Negative control: without eps ×c² the identity breaks (findings Part B §1: 5.2e-5 at c = 26).
   */
  @Test
  void residualScaleWithoutEpsIsNotExact() {
    LlamaWeights s = Reparametrisation.residualScale(w64, C);
    LlamaConfig k = s.config();
    LlamaConfig epsKept =
        new LlamaConfig(
            k.dim(),
            k.hiddenDim(),
            k.nLayers(),
            k.nHeads(),
            k.nKvHeads(),
            k.vocabSize(),
            k.maxSeqLen(),
            w64.config().normEps(),
            k.ropeTheta(),
            false,
            k.torchDtype(),
            k.ropeLayout());
    LlamaWeights broken =
        new LlamaWeights(epsKept, s.embedding(), s.layers(), s.finalNorm(), s.classifier());
    assertThat(relDiff(logits(w64, FP64), logits(broken, FP64))).isGreaterThan(1e-7);
  }

  /** Negative control: a classifier tied to the scaled embedding multiplies the logits by c. */
  @Test
  void residualScaleWithTiedClassifierIsNotExact() {
    LlamaWeights s = Reparametrisation.residualScale(w64, C);
    LlamaWeights tiedScaled =
        new LlamaWeights(s.config(), s.embedding(), s.layers(), s.finalNorm(), s.embedding());
    assertThat(relDiff(logits(w64, FP64), logits(tiedScaled, FP64))).isGreaterThan(C - 2);
  }

  @Test
  void sourceTensorsAreNeverWritten() throws IOException {
    Reparametrisation.mlpScale(Reparametrisation.residualScale(w32, C), A);
    assertThat(w32.firstBitwiseDifference(LlamaWeights.read(MODEL))).isEmpty();
  }

  @Test
  void badFactorsAreRejectedWithAMessage() {
    assertThatThrownBy(() -> Reparametrisation.residualScale(w32, 0))
        .hasMessageContaining("residual scale");
    assertThatThrownBy(() -> Reparametrisation.residualScale(w32, Double.NaN))
        .hasMessageContaining("residual scale");
    assertThatThrownBy(() -> Reparametrisation.mlpScale(w32, new double[] {1, 2}))
        .hasMessageContaining("one MLP factor per layer");
    assertThatThrownBy(() -> Reparametrisation.mlpScale(w32, new double[] {1, 1, -3, 1, 1}))
        .hasMessageContaining("layer 2");
  }
}
