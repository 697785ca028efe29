package io.nanscope.editing.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.editing.RepoPaths;
import io.nanscope.editing.hparams.FtHyperParams;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.LayerWeights;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.SyntheticWeights;
import io.nanscope.llama.weights.WeightNames;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * FT-L / FT-M: the loss against an independent FP64 computation of EasyEdit's definition, its
 * gradient against FP64 central differences, the norm constraint, that only the trained weight
 * changes, every precision policy with its trace sites, and the end-to-end effect on the embedded
 * model.
 */
class FineTuneTest {

  static final Path ROOT = RepoPaths.root();
  static final PrecisionPolicy FP64 = PrecisionPolicy.uniform("fp64", Precision.FP64);
  static final PrecisionPolicy FP32 = PrecisionPolicy.named("fp32");

  static Tokenizer tok() throws Exception {
    return Tokenizer.readFromDirectory(ROOT.resolve("models/stories260K"));
  }

  static FtHyperParams hparams(String file, String... replacements) throws Exception {
    String yaml = Files.readString(ROOT.resolve("configs/ft/" + file));
    for (int i = 0; i < replacements.length; i += 2) {
      assertThat(yaml).contains(replacements[i]);
      yaml = yaml.replace(replacements[i], replacements[i + 1]);
    }
    return HyperParamsYaml.parseFt(file, yaml).hparams();
  }

  /**
   * A 2-layer model with the embedded tokenizer's 512-token vocabulary, random matrices of standard
   * deviation 0.3 (so the loss depends visibly on every weight), built in FP64 and rounded to
   * {@code f}.
   */
  static LlamaModel tinyModel(FloatFormat f) {
    LlamaConfig c =
        new LlamaConfig(
            16, 24, 2, 2, 1, 512, 64, 1e-5, 10000.0, false, "float32", RopeLayout.META_INTERLEAVED);
    LlamaWeights w =
        withTensors(
            SyntheticWeights.inMemory(c, FloatFormat.FP32, 7), t -> scaled(t.to(FloatFormat.FP64)));
    if (f != FloatFormat.FP64) {
      w = withTensors(w, t -> t.to(f));
    }
    return LlamaModel.of(w.config(), w);
  }

  /**
   * The same weights (and config) with every tensor mapped; FP64 tensors keep the config's dtype
   * name.
   */
  static LlamaWeights withTensors(LlamaWeights w, java.util.function.UnaryOperator<Tensor> f) {
    List<LayerWeights> layers = new ArrayList<>();
    for (LayerWeights lw : w.layers()) {
      layers.add(
          new LayerWeights(
              f.apply(lw.attnNorm()),
              f.apply(lw.wq()),
              f.apply(lw.wk()),
              f.apply(lw.wv()),
              f.apply(lw.wo()),
              f.apply(lw.ffnNorm()),
              f.apply(lw.wGate()),
              f.apply(lw.wUp()),
              f.apply(lw.wDown())));
    }
    return new LlamaWeights(
        w.config(),
        f.apply(w.embedding()),
        layers,
        f.apply(w.finalNorm()),
        f.apply(w.classifier()));
  }

  private static Tensor scaled(Tensor t) {
    if (t.shape().rank() != 2) {
      return t;
    }
    Tensor s = t.copy();
    for (long i = 0; i < s.size(); i++) {
      s.setDouble(i, 15 * t.getDouble(i));
    }
    return s;
  }

  static final List<String> PROMPTS = List.of("Lily's favorite toy is a", "Tom was very");
  static final List<String> TARGETS = List.of(" doll", " happy and kind");

  // --------------------------------------------------------- the loss, independently in FP64

  /**
   * log p(· | first n tokens) for every position of {@code tokens}, from an FP64 forward of that
   * row alone.
   */
  static double[][] logProbs(LlamaModel m, int[] tokens) {
    return logProbs(m, FP64, tokens);
  }

  /** The same under {@code policy}, the log-softmax of its logits taken in FP64. */
  static double[][] logProbs(LlamaModel m, PrecisionPolicy policy, int[] tokens) {
    Tensor logits =
        m.forward(
                new SequenceBatch(new int[][] {tokens}),
                policy,
                OpContext.DEFAULT,
                null,
                Hooks.none())
            .logits()
            .value();
    int v = m.config().vocabSize();
    double[][] out = new double[tokens.length][v];
    for (int p = 0; p < tokens.length; p++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < v; j++) {
        max = Math.max(max, logits.getDouble((long) p * v + j));
      }
      double s = 0;
      for (int j = 0; j < v; j++) {
        s += Math.exp(logits.getDouble((long) p * v + j) - max);
      }
      for (int j = 0; j < v; j++) {
        out[p][j] = logits.getDouble((long) p * v + j) - max - Math.log(s);
      }
    }
    return out;
  }

  /**
   * ft_main.py, prompt_last: target_ids = tok(targets, padding=True) (BOS first, pad = eos), mask =
   * (ids ≠ unk), loss_b = −Σ mask·logp[last prompt token][ids] / Σ mask, mean over b.
   */
  static double easyEditPromptLast(
      LlamaModel m, Tokenizer tok, List<String> prompts, List<String> targets) {
    List<int[]> ids = new ArrayList<>();
    int longest = 0;
    for (String t : targets) {
      int[] e = tok.encode(t, true, false);
      assertThat(e[0]).isEqualTo(tok.bosId());
      ids.add(e);
      longest = Math.max(longest, e.length);
    }
    double total = 0;
    for (int b = 0; b < prompts.size(); b++) {
      int[] p = tok.encode(prompts.get(b), true, false);
      double[] last = logProbs(m, p)[p.length - 1];
      double s = 0;
      int n = 0;
      for (int j = 0; j < longest; j++) {
        int id = j < ids.get(b).length ? ids.get(b)[j] : tok.eosId();
        if (id != tok.unkId()) {
          s += last[id];
          n++;
        }
      }
      total += -s / n;
    }
    return total / prompts.size();
  }

  /**
   * ft_main.py, target_new: x = tok(prompt + target); prompt_len = len(tok(prompt)); cross-entropy
   * of the shifted logits where label_mask[1:] is set (tokens at index ≥ prompt_len); mean per row,
   * then over rows.
   */
  static double easyEditTargetNew(
      LlamaModel m, Tokenizer tok, List<String> prompts, List<String> targets) {
    double total = 0;
    for (int b = 0; b < prompts.size(); b++) {
      int promptLen = tok.encode(prompts.get(b), true, false).length;
      int[] x = tok.encode(prompts.get(b) + targets.get(b), true, false);
      double[][] lp = logProbs(m, x);
      double s = 0;
      int n = 0;
      for (int i = 0; i + 1 < x.length; i++) {
        if (i + 1 >= promptLen) {
          s += -lp[i][x[i + 1]];
          n++;
        }
      }
      total += s / n;
    }
    return total / prompts.size();
  }

  static double ftLoss(LlamaModel m, Tokenizer tok, PrecisionPolicy p, FtLoss.Objective o) {
    FtLoss.Batch batch = FtLoss.batch(tok, o, PROMPTS, TARGETS);
    return FtLoss.loss(m, p, OpContext.DEFAULT, new Tape(), batch, Map.of()).value().getDouble(0);
  }

  /**
   * Budgets: FP64 policy vs the FP64 reference — the same math in another order, a few units of
   * 2⁻⁵² of a loss ≈ 6 (1e-12). FP32 policy — every op of the forward rounded to FP32 (≈ 6e-8
   * relative each, through two layers and a 512-way log-softmax): 1e-5 relative.
   */
  @Test
  void lossEqualsAnIndependentFp64ComputationOfEasyEditsDefinition() throws Exception {
    Tokenizer tok = tok();
    LlamaModel m64 = tinyModel(FloatFormat.FP64);
    LlamaModel m32 = tinyModel(FloatFormat.FP32);
    double refL = easyEditPromptLast(m64, tok, PROMPTS, TARGETS);
    double refM = easyEditTargetNew(m64, tok, PROMPTS, TARGETS);
    assertThat(ftLoss(m64, tok, FP64, FtLoss.Objective.PROMPT_LAST))
        .isCloseTo(refL, withinRel(1e-12));
    assertThat(ftLoss(m64, tok, FP64, FtLoss.Objective.TARGET_NEW))
        .isCloseTo(refM, withinRel(1e-12));
    assertThat(ftLoss(m32, tok, FP32, FtLoss.Objective.PROMPT_LAST))
        .isCloseTo(refL, withinRel(1e-5));
    assertThat(ftLoss(m32, tok, FP32, FtLoss.Objective.TARGET_NEW))
        .isCloseTo(refM, withinRel(1e-5));
    // the two objectives are different numbers (FT-L scores BOS and "▁" at the last position too)
    assertThat(Math.abs(refL - refM)).isGreaterThan(0.1);
    // EasyEdit's FT-L bag: " doll" is BOS, "▁", "▁do", "ll" and " happy and kind" is longer, so the
    // first row is padded with EOS, which counts (only unk is masked)
    FtLoss.Batch b = FtLoss.batch(tok, FtLoss.Objective.PROMPT_LAST, PROMPTS, TARGETS);
    assertThat(b.targets()[0][0]).isEqualTo(tok.bosId());
    assertThat(b.targets()[0][b.targets()[0].length - 1]).isEqualTo(tok.eosId());
    assertThat(b.mask()[0]).containsOnly(true);
  }

  private static org.assertj.core.data.Offset<Double> withinRel(double rel) {
    return org.assertj.core.data.Offset.offset(rel * 10);
  }

  /**
   * dL/dW_down of layer 1 from the tape (FP64 policy) against FP64 central differences (L(W + hE) −
   * L(W − hE))/2h on 24 random elements, h = 1e-5: truncation ~h²·L''' ≈ 1e-10, cancellation
   * ~2⁻⁵²·L/h ≈ 1e-10; budget 1e-7 of the largest gradient. The FP32 policy's gradient is within
   * 1e-3 of it (relative to the largest), the rounding of the FP32 backward through two layers.
   */
  @Test
  void gradientOfTheLossMatchesCentralDifferences() throws Exception {
    Tokenizer tok = tok();
    String name = WeightNames.Layer.W_DOWN.hf(1);
    for (FtLoss.Objective o : FtLoss.Objective.values()) {
      LlamaModel m = tinyModel(FloatFormat.FP64);
      FtLoss.Batch batch = FtLoss.batch(tok, o, PROMPTS, TARGETS);
      Tensor w = m.weights().get(1, WeightNames.Layer.W_DOWN);
      Tape tape = new Tape();
      Var param = tape.param(w.copy(), "w");
      tape.backward(FtLoss.loss(m, FP64, OpContext.DEFAULT, tape, batch, Map.of(name, param)));
      Tensor g = param.grad();
      double gMax = 0;
      for (long i = 0; i < g.size(); i++) {
        gMax = Math.max(gMax, Math.abs(g.getDouble(i)));
      }
      assertThat(gMax).as(o.key()).isGreaterThan(1e-3);
      SplittableRandom rnd = new SplittableRandom(3);
      double h = 1e-5;
      for (int k = 0; k < 24; k++) {
        long i = rnd.nextLong(w.size());
        Tensor plus = w.copy();
        plus.setDouble(i, w.getDouble(i) + h);
        Tensor minus = w.copy();
        minus.setDouble(i, w.getDouble(i) - h);
        double fd = (lossWith(m, batch, name, plus) - lossWith(m, batch, name, minus)) / (2 * h);
        assertThat(g.getDouble(i))
            .as(o.key() + " element " + i)
            .isCloseTo(fd, org.assertj.core.data.Offset.offset(1e-7 * gMax));
      }
      // FP32 backward vs the FP64 gradient
      LlamaModel m32 = tinyModel(FloatFormat.FP32);
      Tape t32 = new Tape();
      Var p32 = t32.param(m32.weights().get(1, WeightNames.Layer.W_DOWN).copy(), "w");
      t32.backward(FtLoss.loss(m32, FP32, OpContext.DEFAULT, t32, batch, Map.of(name, p32)));
      for (long i = 0; i < g.size(); i++) {
        assertThat(p32.grad().getDouble(i))
            .isCloseTo(g.getDouble(i), org.assertj.core.data.Offset.offset(1e-3 * gMax));
      }
    }
  }

  private static double lossWith(LlamaModel m, FtLoss.Batch batch, String name, Tensor w) {
    Tape tape = new Tape();
    return FtLoss.loss(
            m, FP64, OpContext.DEFAULT, tape, batch, Map.of(name, tape.constant(w, name)))
        .value()
        .getDouble(0);
  }

  // ------------------------------------------------------------------ the training loop

  /**
   * compute leaves the model alone; apply changes exactly the configured down_proj, nothing else.
   */
  @Test
  void onlyTheConfiguredLayersWeightChanges() throws Exception {
    for (String policyName : List.of("fp32", "pytorch-bf16")) {
      PrecisionPolicy policy = PrecisionPolicy.named(policyName);
      LlamaModel m = LlamaModel.load(ROOT.resolve("models/stories260K"), policy.storage());
      LlamaWeights pristine =
          LlamaModel.load(ROOT.resolve("models/stories260K"), policy.storage()).weights();
      FtHyperParams hp = hparams("stories260K-ftm.yaml", "num_steps: 25", "num_steps: 3");
      FineTune.Outcome o =
          FineTune.compute(
              m,
              tok(),
              hp,
              List.of(EditRequest.of("Tom", "Tom was very", "happy")),
              FineTune.Options.of(policy, OpContext.DEFAULT),
              EditLog.NONE);
      assertThat(m.weights().firstBitwiseDifference(pristine))
          .as(policyName + ": compute writes nothing")
          .isEmpty();
      assertThat(o.layers())
          .singleElement()
          .satisfies(l -> {
            assertThat(l.layer()).isEqualTo(3);
            assertThat(l.weightName()).isEqualTo("model.layers.3.mlp.down_proj.weight");
            assertThat(l.updated().format()).isEqualTo(policy.storage());
          });
      FineTune.apply(m, o, EditLog.NONE);
      assertThat(m.weights().firstBitwiseDifference(pristine))
          .as(policyName)
          .hasValueSatisfying(
              d -> assertThat(d).startsWith("model.layers.3.mlp.down_proj.weight:"));
      Tensor w = m.writableDownProj(3);
      Tensor w0 = pristine.get(3, WeightNames.Layer.W_DOWN);
      MemorySegment.copy(w0.segment(), 0, w.segment(), 0, w.segment().byteSize());
      assertThat(m.weights().firstBitwiseDifference(pristine))
          .as(policyName + ": nothing else changed")
          .isEmpty();
    }
  }

  /**
   * With norm_constraint ε every trained weight stays in [W₀ − ε, W₀ + ε] (bounds rounded to FP32
   * as torch computes {@code weights_copy − eps}); W₀ + (W − W₀) then moves each weight by at most
   * ε plus one rounding of the sum (ulp(W₀ + ε)). The constraint must bind: with lr 1e-2 some
   * weights sit at a bound.
   */
  @Test
  void normConstraintHoldsExactly() throws Exception {
    double eps = 1e-3;
    PrecisionPolicy policy = FP32;
    LlamaModel m = LlamaModel.load(ROOT.resolve("models/stories260K"), policy.storage());
    FtHyperParams hp =
        hparams(
            "stories260K-ftm.yaml",
            "num_steps: 25",
            "num_steps: 4",
            "norm_constraint: false",
            "norm_constraint: 1e-3",
            "lr: 5e-4",
            "lr: 1e-2");
    assertThat(hp.normConstraint()).hasValue(eps);
    FineTune.Outcome o =
        FineTune.compute(
            m,
            tok(),
            hp,
            List.of(EditRequest.of("Tom", "Tom was very", "happy")),
            FineTune.Options.of(policy, OpContext.DEFAULT),
            EditLog.NONE);
    Tensor w0 = m.weights().get(3, WeightNames.Layer.W_DOWN);
    Tensor updated = o.layers().getFirst().updated();
    Tensor delta = o.layers().getFirst().delta();
    long atBound = 0;
    for (long i = 0; i < w0.size(); i++) {
      float base = w0.get(i);
      float lo = base - (float) eps;
      float hi = base + (float) eps;
      float trained = base + delta.get(i); // W₀ + ΔW in FP32, as apply computes it
      assertThat(updated.get(i)).isEqualTo(trained);
      float slack = Math.ulp(Math.max(Math.abs(lo), Math.abs(hi)));
      assertThat(trained).as("element " + i).isBetween(lo - slack, hi + slack);
      if (Math.abs(Math.abs(trained - base) - eps) <= 2 * slack) {
        atBound++;
      }
    }
    assertThat(atBound).as("weights held at the bound").isGreaterThan(w0.size() / 20);
    // the clamp itself, exactly: min(max(w, w0 − ε), w0 + ε) with FP32 bounds, NaN kept
    Tensor w = Tensor.of(FloatFormat.FP32, Shape.of(4), 1.5f, -2f, 0.25f, Float.NaN);
    Tensor base = Tensor.of(FloatFormat.FP32, Shape.of(4), 1f, -1f, 0.2f, 0f);
    FineTune.clamp(w, base, 0.1, Tracer.NONE, new io.nanscope.engine.trace.Site("t"), 0);
    assertThat(w.toFloatArray()).containsExactly(1f + 0.1f, -1f - 0.1f, 0.25f, Float.NaN);
  }

  /**
   * FT-L and FT-M raise the target's probability on every record of the embedded model's edit set:
   * each in the sense it optimises (FT-L: the target's tokens at the prompt's last position, i.e.
   * its loss, checked against EasyEdit's definition above; FT-M: the target teacher-forced after
   * the prompt, as rewrite_acc reads it), and on average both raise the teacher-forced probability.
   */
  @Test
  void endToEndFtLAndFtMRaiseTheTargetsProbability() throws Exception {
    Tokenizer tok = tok();
    List<EditRequest> records =
        EditDatasets.knowEdit(ROOT.resolve("configs/edits/tinystories-edits.json"));
    for (String file : List.of("stories260K.yaml", "stories260K-ftm.yaml")) {
      FtHyperParams hp = hparams(file);
      FtLoss.Objective objective = FtLoss.Objective.of(hp.objectiveOptimization());
      LlamaModel m = LlamaModel.load(ROOT.resolve("models/stories260K"), FloatFormat.FP32);
      Tensor w0 = m.writableDownProj(3).copy();
      double sumBefore = 0;
      double sumAfter = 0;
      for (EditRequest r : records) {
        FtLoss.Batch own =
            FtLoss.batch(tok, objective, List.of(r.filledPrompt()), List.of(" " + r.targetNew()));
        double lossBefore =
            FtLoss.loss(m, FP32, OpContext.DEFAULT, new Tape(), own, Map.of()).value().getDouble(0);
        double before = targetLogProb(m, tok, r);
        FineTune.Outcome o =
            FineTune.compute(
                m, tok, hp, List.of(r), FineTune.Options.of(FP32, OpContext.DEFAULT), EditLog.NONE);
        FineTune.apply(m, o, EditLog.NONE);
        double lossAfter =
            FtLoss.loss(m, FP32, OpContext.DEFAULT, new Tape(), own, Map.of()).value().getDouble(0);
        double after = targetLogProb(m, tok, r);
        MemorySegment.copy(
            w0.segment(), 0, m.writableDownProj(3).segment(), 0, w0.segment().byteSize());
        String what = file + ": " + r.prompt() + " -> " + r.targetNew();
        assertThat(lossAfter).as(what).isLessThan(lossBefore - 0.5);
        if (objective == FtLoss.Objective.TARGET_NEW) {
          assertThat(after).as(what).isGreaterThan(before);
        }
        sumBefore += before;
        sumAfter += after;
      }
      // on average the teacher-forced target became markedly more likely (log-prob per token)
      assertThat((sumAfter - sumBefore) / records.size()).as(file).isGreaterThan(0.2);
    }
  }

  /**
   * Mean log-probability of the target's tokens teacher-forced after the prompt (as rewrite_acc
   * reads them).
   */
  static double targetLogProb(LlamaModel m, Tokenizer tok, EditRequest r) {
    int p = tok.encode(r.filledPrompt(), true, false).length;
    int[] full = tok.encode(r.filledPrompt() + " " + r.targetNew(), true, false);
    double[][] lp = logProbs(m, FP32, full);
    double s = 0;
    for (int i = p; i < full.length; i++) {
      s += lp[i - 1][full[i]];
    }
    return s / (full.length - p);
  }

  /**
   * Every policy runs; the tracer sees the model's backward into the weight, the losses, Adam's
   * update and the weight delta under named sites; Adam's moments are in the weight's format
   * (PyTorch's zeros_like) unless asked otherwise.
   */
  @Test
  void everyPolicyRunsAndReportsNamedSites() throws Exception {
    for (String policyName : List.of("fp32", "pytorch-bf16", "pytorch-fp16")) {
      PrecisionPolicy policy = PrecisionPolicy.named(policyName);
      LlamaModel m = LlamaModel.load(ROOT.resolve("models/stories260K"), policy.storage());
      Set<String> sites = new LinkedHashSet<>();
      Map<String, FloatFormat> formats = new LinkedHashMap<>();
      Tracer tracer =
          new Tracer() {
            @Override
            public boolean enabled() {
              return true;
            }

            @Override
            public void record(OpRecord r) {
              sites.add(r.site().name() + " " + r.op());
              formats.put(r.site().name() + " " + r.op(), r.output().format());
            }
          };
      FtHyperParams hp = hparams("stories260K.yaml", "num_steps: 25", "num_steps: 2");
      List<String> log = new ArrayList<>();
      FineTune.Outcome o =
          FineTune.compute(
              m,
              tok(),
              hp,
              List.of(EditRequest.of("Tom", "Tom was very", "happy")),
              FineTune.Options.of(policy, OpContext.DEFAULT.withTracer(tracer)),
              log::add);
      assertThat(o.steps()).hasSize(2);
      assertThat(sites)
          .as(policyName)
          .contains(
              "layers.3.mlp.down_proj matmul.dw",
              "loss.0.nll nll",
              "loss.0.log_softmax log_softmax",
              "adam.layers.3.mlp.down_proj.weight addcdiv",
              "adam.layers.3.mlp.down_proj.weight.exp_avg_sq mul_addcmul",
              "ft.layers.3.mlp.down_proj.weight.delta sub",
              "ft.layers.3.mlp.down_proj.weight.updated add");
      assertThat(formats.get("adam.layers.3.mlp.down_proj.weight.exp_avg_sq mul_addcmul"))
          .isEqualTo(policy.storage());
      assertThat(formats.get("layers.3.mlp.down_proj matmul.dw")).isEqualTo(policy.storage());
      assertThat(log)
          .startsWith(
              "Executing FT algo for: [Tom was very] -> [ happy]",
              "Weights to be updated: ['model.layers.3.mlp.down_proj.weight']",
              "====================",
              "Epoch: 0",
              "====================");
      assertThat(log)
          .last()
          .isEqualTo("Deltas successfully computed for ['model.layers.3.mlp.down_proj.weight']");
    }
    // FP32 moments on request
    Set<FloatFormat> adamFormats = new LinkedHashSet<>();
    Tracer t =
        new Tracer() {
          @Override
          public boolean enabled() {
            return true;
          }

          @Override
          public void record(OpRecord r) {
            if (r.site().name().startsWith("adam.") && r.op().equals("lerp")) {
              adamFormats.add(r.output().format());
            }
          }
        };
    PrecisionPolicy fp16 = PrecisionPolicy.named("pytorch-fp16");
    LlamaModel m = LlamaModel.load(ROOT.resolve("models/stories260K"), fp16.storage());
    FineTune.compute(
        m,
        tok(),
        hparams("stories260K.yaml", "num_steps: 25", "num_steps: 2"),
        List.of(EditRequest.of("Tom", "Tom was very", "happy")),
        FineTune.Options.of(fp16, OpContext.DEFAULT.withTracer(t))
            .withAdamStateFormat(FloatFormat.FP32),
        EditLog.NONE);
    assertThat(adamFormats).containsExactly(FloatFormat.FP32);
  }

  /**
   * Pure FP16 Adam (the weight is FP16, so torch.optim.Adam's moments are FP16 too): eps = 1e-8
   * rounds to 0 and g² underflows, so the first step divides by zero where the gradient is small.
   * The first-overflow report names the optimiser's site; with FP32 moments the same run stays
   * finite.
   */
  @Test
  void pureFp16AdamOverflowsAtTheOptimiserAndTheReportNamesIt() throws Exception {
    PrecisionPolicy fp16 = PrecisionPolicy.named("pytorch-fp16");
    FtHyperParams hp = hparams("stories260K-ftm.yaml", "num_steps: 25", "num_steps: 2");
    List<EditRequest> one = List.of(EditRequest.of("Tom", "Tom was very", "happy"));
    LlamaModel m = LlamaModel.load(ROOT.resolve("models/stories260K"), fp16.storage());
    io.nanscope.engine.trace.AnomalyTracer anomalies =
        io.nanscope.engine.trace.AnomalyTracer.recording(
            new io.nanscope.engine.trace.TraceContext());
    FineTune.Outcome o =
        FineTune.compute(
            m,
            tok(),
            hp,
            one,
            FineTune.Options.of(fp16, OpContext.DEFAULT.withTracer(anomalies)),
            EditLog.NONE);
    assertThat(o.finite()).isFalse();
    assertThat(anomalies.first())
        .hasValueSatisfying(f ->
            assertThat(f.summary())
                .as(f.report())
                .contains("adam.layers.3.mlp.down_proj.weight")
                .contains("from finite inputs"));
    FineTune.Outcome fp32Moments =
        FineTune.compute(
            m,
            tok(),
            hp,
            one,
            FineTune.Options.of(fp16, OpContext.DEFAULT).withAdamStateFormat(FloatFormat.FP32),
            EditLog.NONE);
    assertThat(fp32Moments.finite()).isTrue();
  }

  @Test
  void badConfigurationsAreRefusedWithAReason() throws Exception {
    LlamaModel m = LlamaModel.load(ROOT.resolve("models/stories260K"), FloatFormat.FP32);
    List<EditRequest> one = List.of(EditRequest.of("Tom", "Tom was very", "happy"));
    FineTune.Options opt = FineTune.Options.of(FP32, OpContext.DEFAULT);
    assertThatThrownBy(() ->
            FineTune.compute(
                m,
                tok(),
                hparams(
                    "stories260K.yaml",
                    "rewrite_module_tmp: \"model.layers.{}.mlp.down_proj.weight\"",
                    "rewrite_module_tmp: \"model.layers.{}.mlp\""),
                one,
                opt,
                EditLog.NONE))
        .hasMessageContaining("model.layers.{}.mlp.down_proj"); // refused when read, or by FineTune
    assertThatThrownBy(() ->
            FineTune.compute(
                m,
                tok(),
                hparams("stories260K.yaml", "layers: [3]", "layers: [9]"),
                one,
                opt,
                EditLog.NONE))
        .hasMessageContaining("not a layer of this model");
    assertThatThrownBy(
            () -> hparams("stories260K.yaml", "norm_constraint: false", "norm_constraint: 1"))
        .hasMessageContaining("norm_constraint")
        .hasMessageContaining("1.0");
  }
}
