package io.nanscope.editing.memit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.editing.RepoPaths;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.MemitHyperParams;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.stats.KeyStatistics;
import io.nanscope.editing.stats.TextCorpus;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * MEMIT on the embedded model against an independent implementation: {@code
 * scripts/editing/memit_prototype.py} (numpy, FP64 forward, FP64 central-difference gradients, its
 * own llama2.c reader and tokenizer, its own covariance from the corpus), run offline; its output
 * is {@code memit/prototype.json}. Same batch (records 0 and 1 of the edit set), same template
 * groups, same hyperparameters (configs/memit/stories260K.yaml).
 *
 * <p>Budgets: the Java side runs the FP32 policy with an analytic FP32 backward, the prototype FP64
 * with finite differences; over 24 Adam steps these differ by ~1e-4 relative (Adam normalises the
 * gradient, so relative gradient errors of ~1e-6 move each step by about as much). Losses are
 * compared to ±0.005 and z to 1e-3 of its norm; the FP64 layer update (ΔW applied to the keys) to
 * 1e-2 of its norm — it carries z's difference amplified by the solve. A wrong objective term,
 * position, clamp, key average, spread or solve is off by far more (the clamp alone changes ‖δ‖ ×4;
 * the spread halves ΔW at the first layer).
 */
class MemitPrototypeParityTest {

  static final List<List<String>> GROUPS =
      List.of(
          List.of("{}"),
          List.of(
              "The sky was a big, b. {}",
              "Therefore was a se. {}",
              "Because his ve. {}",
              "I'm a smart b. {}",
              "You are very good. {}"));

  @Test
  void batchOfTwoMatchesThePrototype() throws Exception {
    JsonNode proto =
        JsonMapper.builder()
            .build()
            .readTree(
                Files.readString(
                    RepoPaths.inRepo("editing/src/test/resources/memit/prototype.json")));
    Path dir = RepoPaths.inRepo("models/stories260K");
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    OpContext ctx = OpContext.DEFAULT;
    LlamaModel model = LlamaModel.load(dir, FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(dir);
    MemitHyperParams hp =
        HyperParamsYaml.readMemit(RepoPaths.inRepo("configs/memit/stories260K.yaml")).hparams();
    assertThat(proto.get("lambda").doubleValue()).isEqualTo(hp.mom2UpdateWeight());
    assertThat(proto.get("layers").values().stream().map(JsonNode::intValue).toList())
        .isEqualTo(hp.layers());
    List<String> texts =
        TextCorpus.read(RepoPaths.inRepo(hp.secondMoment().dataset()))
            .first(hp.secondMoment().nSamples());
    Map<Integer, double[]> cov = new HashMap<>();
    for (int layer : hp.layers()) {
      cov.put(
          layer,
          KeyStatistics.compute(model, tok, fp32, ctx, layer, texts, 256, Optional.empty(), i -> {})
              .moment());
    }
    List<EditRequest> batch =
        List.of(
            EditRequest.of("Lily", "Lily's favorite toy is a", "doll"),
            EditRequest.of("Tom", "Tom was very", "happy"));
    Memit.Outcome o =
        Memit.compute(
            model,
            tok,
            hp,
            batch,
            new TemplateGroups(GROUPS, "prototype"),
            Memit.Options.of(fp32, ctx, cov::get),
            line -> {});

    for (int j = 0; j < batch.size(); j++) {
      JsonNode pr = proto.get("requests").get(j);
      var steps = o.values().get(j).steps();
      List<Double> losses = new ArrayList<>();
      pr.get("losses").values().forEach(x -> losses.add(x.doubleValue()));
      assertThat(steps).as("request %d: iterations", j).hasSize(losses.size());
      for (int s = 0; s < losses.size(); s++) {
        assertThat(steps.get(s).loss())
            .as("request %d step %d loss", j, s)
            .isCloseTo(losses.get(s), within(5e-3));
      }
      float[] z = o.values().get(j).target();
      double zNorm = pr.get("z_norm").doubleValue();
      for (int i = 0; i < z.length; i++) {
        assertThat((double) z[i])
            .as("request %d z[%d]", j, i)
            .isCloseTo(pr.get("z").get(i).doubleValue(), within(1e-3 * zNorm));
      }
    }
    for (int i = 0; i < hp.layers().size(); i++) {
      JsonNode pl = proto.get("layer_updates").get(i);
      Memit.LayerUpdate l = o.layers().get(i);
      int f = model.config().hiddenDim();
      double trace = 0;
      for (int a = 0; a < f; a++) {
        trace += cov.get(l.layer())[a * f + a];
      }
      assertThat(trace)
          .as("layer %d: trace of C", l.layer())
          .isCloseTo(pl.get("cov_trace").doubleValue(), within(1e-5 * trace));
      int c = model.config().dim();
      double norm = pl.get("delta_norm").doubleValue();
      double ours = 0;
      for (double d : l.delta()) {
        ours += d * d;
      }
      assertThat(Math.sqrt(ours))
          .as("layer %d: ‖ΔW‖", l.layer())
          .isCloseTo(norm, within(1e-2 * norm));
      for (int j = 0; j < batch.size(); j++) {
        double[] dk = new double[c];
        double scale = 0;
        for (int a = 0; a < c; a++) {
          for (int q = 0; q < f; q++) {
            dk[a] += l.delta()[a * f + q] * l.keys()[q][j];
          }
          scale += dk[a] * dk[a];
        }
        scale = Math.sqrt(scale);
        for (int a = 0; a < c; a++) {
          assertThat(dk[a])
              .as("layer %d: (ΔW k_%d)[%d]", l.layer(), j, a)
              .isCloseTo(pl.get("delta_keys").get(j).get(a).doubleValue(), within(1e-2 * scale));
        }
      }
    }
  }
}
