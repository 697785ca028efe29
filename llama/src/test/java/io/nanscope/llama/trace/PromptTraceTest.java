package io.nanscope.llama.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.llama.TestPaths;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The trace on the embedded model, checked against numbers computed here independently from an
 * untraced forward pass: the NLL in FP64 from the logits, and the FP16 underflow count of the logit
 * gradient from an FP64 softmax rounded with the JDK's {@code Float.floatToFloat16}.
 */
class PromptTraceTest {

  static final Path MODEL = TestPaths.stories260K();
  static final String PROMPT = "Once upon a time, there was a little girl named Lily.";

  static int[] tokens() throws IOException {
    return Tokenizer.readFromDirectory(MODEL).encode(PROMPT, true, false);
  }

  static SiteStats row(PromptTrace.Result r, Phase phase, String site, String op) {
    return r.rows(phase).stream()
        .filter(s -> s.at().site().name().equals(site) && s.at().op().equals(op))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + phase + " row " + site + " " + op));
  }

  /** logits of an untraced forward, (T, V) as doubles. */
  static double[][] logits(LlamaModel m, int[] ids, PrecisionPolicy p) {
    SequenceOutput out =
        m.forward(SequenceBatch.of(ids), p, OpContext.DEFAULT, new Tape(), Hooks.none());
    double[][] z = new double[ids.length][];
    for (int t = 0; t < ids.length; t++) {
      float[] row = out.logitsAt(0, t);
      z[t] = new double[row.length];
      for (int v = 0; v < row.length; v++) {
        z[t][v] = row[v];
      }
    }
    return z;
  }

  /** softmax of one row in FP64 (max-subtracted). */
  static double[] softmax(double[] z) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : z) {
      max = Math.max(max, v);
    }
    double sum = 0;
    double[] p = new double[z.length];
    for (int i = 0; i < z.length; i++) {
      p[i] = Math.exp(z[i] - max);
      sum += p[i];
    }
    for (int i = 0; i < z.length; i++) {
      p[i] /= sum;
    }
    return p;
  }

  @Test
  void forwardAndBackwardUnderPytorchFp16MatchIndependentFp64Numbers() throws IOException {
    PrecisionPolicy p = PrecisionPolicy.named("pytorch-fp16");
    LlamaModel m = LlamaModel.load(MODEL, p.storage());
    int[] ids = tokens();
    int t = ids.length;
    PromptTrace.Result r = PromptTrace.run(m, ids, p, 1, true);

    // NLL: mean over t < T-1 of −log softmax(z_t)[ids[t+1]], in FP64 from the untraced logits. The
    // engine's log-softmax runs in FP32 (pytorch policy upcasts the logits): budget 1e-5 relative.
    double[][] z = logits(m, ids, p);
    double nll = 0;
    for (int i = 0; i + 1 < t; i++) {
      nll -= Math.log(softmax(z[i])[ids[i + 1]]);
    }
    nll /= t - 1;
    assertThat(r.loss()).isCloseTo(nll, within(1e-5 * nll));

    // The traced logits are the untraced ones (tracing does not change the math).
    double maxLogit = 0;
    for (double[] row : z) {
      for (double v : row) {
        maxLogit = Math.max(maxLogit, Math.abs(v));
      }
    }
    SiteStats logitsRow = row(r, Phase.FORWARD, "lm_head.float", "cast");
    assertThat(logitsRow.output().maxAbs()).isEqualTo(maxLogit);
    assertThat(logitsRow.output().headroomIn(FloatFormat.FP16))
        .isCloseTo(Math.log(65504 / maxLogit) / Math.log(2), within(1e-12));

    // Logit gradient dL/dz = (softmax(z) − onehot)·mask/(T−1), FP32 (log-softmax backward), then
    // cast
    // to FP16 for lm_head: count the non-zero FP32 values that Float.floatToFloat16 rounds to ±0.
    long underflow = 0, nonZero = 0;
    for (int i = 0; i + 1 < t; i++) {
      double[] s = softmax(z[i]);
      for (int v = 0; v < s.length; v++) {
        float g = (float) ((s[v] - (v == ids[i + 1] ? 1 : 0)) / (t - 1));
        if (g != 0) {
          nonZero++;
          if ((Float.floatToFloat16(g) & 0x7fff) == 0) {
            underflow++;
          }
        }
      }
    }
    SiteStats cast = row(r, Phase.BACKWARD, "lm_head.float", "cast.grad");
    assertThat(cast.output().format()).isEqualTo(FloatFormat.FP16);
    // The FP64 softmax differs from the engine's FP32 one by a few ulps: values within a few ulps
    // of
    // the FP16 underflow threshold (2^-25) may land on either side. Budget: 0.5% of the count.
    assertThat((double) cast.output().underflow()).isCloseTo(underflow, within(0.005 * underflow));
    assertThat(underflow).isGreaterThan(nonZero / 2); // most logit gradients flush to zero in FP16

    // Every layer has its backward sites (dx and dw of down_proj), and the embedding gradient.
    for (int l = 0; l < m.config().nLayers(); l++) {
      row(r, Phase.BACKWARD, "layers." + l + ".mlp.down_proj", "matmul.dx");
      row(r, Phase.BACKWARD, "layers." + l + ".mlp.down_proj", "matmul.dw");
    }
    row(r, Phase.BACKWARD, "embed_tokens", "embedding.grad");
    assertThat(r.first()).isEmpty();
    assertThat(r.jsonLines()).hasSize(r.rows().size());
    assertThat(r.totals(Phase.BACKWARD)[1]).isGreaterThanOrEqualTo(cast.output().underflow());
  }

  @Test
  void forwardOnlyIsIndependentOfThreadsAndRefusesBadPrompts() throws IOException {
    PrecisionPolicy p = PrecisionPolicy.named("fp32");
    LlamaModel m = LlamaModel.load(MODEL, p.storage());
    int[] ids = tokens();
    PromptTrace.Result one = PromptTrace.run(m, ids, p, 1, false);
    PromptTrace.Result two = PromptTrace.run(m, ids, p, 2, false);
    assertThat(one.rows(Phase.BACKWARD)).isEmpty();
    assertThat(two.jsonLines()).isEqualTo(one.jsonLines());
    assertThatThrownBy(() -> PromptTrace.run(m, new int[] {1}, p, 1, true))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at least 2 tokens");
    assertThatThrownBy(() -> PromptTrace.run(m, new int[m.config().maxSeqLen() + 1], p, 1, false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("shorten it");
    assertThat(PromptTrace.run(m, new int[] {1}, p, 1, false).loss()).isNaN();
  }
}
