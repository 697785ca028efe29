package io.nanscope.llama.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.TestPaths;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GenerateFastTest {

  static LlamaModel model;
  static Tokenizer tok;
  static final PrecisionPolicy FP32 = PrecisionPolicy.named("fp32");

  @BeforeAll
  static void load() throws IOException {
    model = LlamaModel.load(TestPaths.stories260K(), FloatFormat.FP32);
    tok = Tokenizer.readFromDirectory(TestPaths.stories260K());
  }

  @Test
  void generatesContextTemplatesLikeEasyEdit() {
    List<String> prompts = List.of("The", "Therefore", "Because", "I", "You");
    List<GenerateFast.Generation> g =
        GenerateFast.generations(
            model, tok, prompts, 2, 10, 5, new SplittableRandom(42), FP32, OpContext.DEFAULT);
    assertThat(g).hasSize(10);
    for (int i = 0; i < g.size(); i++) {
      int[] prompt = tok.encode(prompts.get(i / 2), true, false);
      int[] t = g.get(i).tokens();
      assertThat(t).hasSize(10); // max_out_len counts BOS + prompt + generated
      assertThat(Arrays.copyOf(t, prompt.length)).isEqualTo(prompt);
      assertThat(g.get(i).text()).startsWith(prompts.get(i / 2));
      // every sampled token is one of the 5 most likely at its position (checked on the sequence
      // path)
      SequenceOutput out =
          model.forward(SequenceBatch.of(t), FP32, OpContext.DEFAULT, null, Hooks.none());
      for (int pos = prompt.length; pos < t.length; pos++) {
        float[] logits = out.logitsAt(0, pos - 1);
        float mine = logits[t[pos]];
        long higher = 0;
        for (float v : logits) {
          higher += v > mine ? 1 : 0;
        }
        assertThat(higher).as("rank of token %d at %d", t[pos], pos).isLessThan(5);
      }
    }
    // seeded: the same seed gives the same texts, another seed (almost surely) others
    List<String> again =
        GenerateFast.generate(
            model, tok, prompts, 2, 10, 5, new SplittableRandom(42), FP32, OpContext.DEFAULT);
    assertThat(again).isEqualTo(g.stream().map(GenerateFast.Generation::text).toList());
    assertThat(
            GenerateFast.generate(
                model, tok, prompts, 2, 10, 5, new SplittableRandom(43), FP32, OpContext.DEFAULT))
        .isNotEqualTo(again);
  }

  @Test
  void topKOneIsGreedy() {
    List<GenerateFast.Generation> g =
        GenerateFast.generations(
            model,
            tok,
            List.of("Once upon a time"),
            1,
            30,
            1,
            new SplittableRandom(1),
            FP32,
            OpContext.DEFAULT);
    Generator.Result greedy =
        new Generator(model, tok, FP32, OpContext.DEFAULT)
            .generate("Once upon a time", 30, Sampler.greedy(), null);
    assertThat(g.getFirst().tokens()).isEqualTo(Arrays.copyOf(greedy.tokens(), 30));
  }

  @Test
  void nanLogitsFailWithPyTorchsMessage() throws IOException {
    LlamaModel broken = LlamaModel.load(TestPaths.stories260K(), FloatFormat.FP32);
    broken.writableDownProj(0).set(0, Float.NaN);
    assertThat(model.weights().layers().get(0).wDown().get(0)).isNotNaN(); // a separate copy
    assertThatThrownBy(() ->
            GenerateFast.generate(
                broken,
                tok,
                List.of("The"),
                1,
                10,
                5,
                new SplittableRandom(1),
                FP32,
                OpContext.DEFAULT))
        .isInstanceOf(InvalidDistributionException.class)
        .hasMessage("probability tensor contains either `inf`, `nan` or element < 0");
  }

  @Test
  void topKPutsNanFirstAndBreaksTiesToTheLowerIndex() {
    assertThat(GenerateFast.topK(new float[] {0.1f, 0.5f, Float.NaN, 0.5f, 0.2f}, 3))
        .containsExactly(2, 1, 3);
  }

  @Test
  void textIsNfkdWithParagraphsJoined() {
    int[] ids = tok.encode("café\n\nend", true, false);
    assertThat(GenerateFast.text(tok, ids)).isEqualTo("cafe\u0301 end");
  }

  /**
   * Budget: 1e-5 absolute; the FP64 log-softmax of FP32 logits here against Sampling.softmax (FP64,
   * rounded to FP32).
   */
  @Test
  void nextTokenLogProbsMatchTheSoftmaxOfTheDecodeLogits() {
    int[] t = tok.encode("Lily and Tom went to the park", true, false);
    SequenceBatch batch = new SequenceBatch(new int[][] {tok.encode("Hi", true, false), t});
    SequenceOutput out = model.forward(batch, FP32, OpContext.DEFAULT, null, Hooks.none());
    double[] lp = Scoring.nextTokenLogProbs(out, batch, 1);
    assertThat(lp).hasSize(t.length - 1);
    var d = model.decoder(FP32, OpContext.DEFAULT);
    for (int i = 0; i + 1 < t.length; i++) {
      float[] p = Sampling.softmax(d.next(t[i]));
      assertThat(lp[i]).isCloseTo(Math.log(p[t[i + 1]]), org.assertj.core.data.Offset.offset(1e-5));
      assertThat(lp[i]).isNegative();
    }
    assertThat(Scoring.argmaxAt(out, 1, 0, 3)).hasSize(3);
  }
}
