package io.nanscope.editing.keys;

import io.nanscope.editing.hparams.TargetTokens;
import io.nanscope.editing.hparams.ValueOptimization;
import io.nanscope.engine.autograd.Adam;
import io.nanscope.engine.autograd.LossScaler;
import io.nanscope.engine.autograd.ParamGrad;
import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.Add;
import io.nanscope.engine.op.Embedding;
import io.nanscope.engine.op.KlDiv;
import io.nanscope.engine.op.LogSoftmax;
import io.nanscope.engine.op.Nll;
import io.nanscope.engine.op.Norm;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.op.Scale;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The target value v* of ROME (Meng et al. 2022, §3.1 eq. 4; EasyEdit compute_v.py): the output of
 * {@code layers.L.mlp} at the subject's last token that makes the model say the new target.
 *
 * <p>A vector δ (FP32, as EasyEdit's {@code torch.zeros(..., requires_grad=True)} whatever the
 * model dtype) is added to the MLP output at the subject's last token of every prompt (rounded to
 * the output's format, as {@code delta.to(out.dtype)}), and optimised with Adam(lr = v_lr) on
 *
 * <pre>
 *   loss = NLL(target | 21 rewriting prompts)                        (mean of per-prompt means)
 *        + kl_factor · KL(p_now ‖ p_init) at the subject of "{} is a"  (kl_div, log_target, batchmean)
 *        + v_weight_decay · ‖δ‖ / ‖v_init‖²                           (EasyEdit: not squared δ)
 * </pre>
 *
 * stopping early when loss &lt; 5e-2 (checked before backward; the last iteration never steps), and
 * clamping ‖δ‖ ≤ clamp_norm_factor·‖v_init‖ after each step. v* = v_init + δ.
 */
public final class TargetValue {

  private TargetValue() {}

  /** EasyEdit's early-stop threshold (compute_v.py: {@code if loss < 5e-2: break}). */
  public static final double EARLY_STOP = 5e-2;

  /** One optimisation step's numbers, as EasyEdit logs them. */
  public record Step(
      int iteration, double loss, double nll, double kl, double weightDecay, double avgProb) {

    /** {@code loss 2.96 = 2.96 + 0.0 + 0.0 avg prob of [ ball] 0.05208826810121536}. */
    public String logLine(String targetNew) {
      return "loss "
          + PyFloat.round(loss, 3)
          + " = "
          + PyFloat.round(nll, 3)
          + " + "
          + PyFloat.round(kl, 3)
          + " + "
          + PyFloat.round(weightDecay, 3)
          + " avg prob of ["
          + targetNew
          + "] "
          + PyFloat.repr(avgProb);
    }

    public boolean finite() {
      return Double.isFinite(loss);
    }
  }

  /**
   * What the optimisation produced.
   *
   * @param target v* = v_init + δ, rounded to the MLP output's format
   * @param init v_init: the MLP output at the subject's last token of the bare "{}" context
   * @param delta the optimised δ (FP32)
   * @param steps one entry per iteration that computed a loss
   */
  public record Result(float[] target, float[] init, float[] delta, List<Step> steps) {}

  /**
   * Observes each iteration (the precision fallback uses it to stop at the first non-finite step).
   */
  @FunctionalInterface
  public interface StepListener {
    /** Returns false to stop the optimisation after this step's loss (before backward). */
    boolean onStep(Step step, float[] delta);

    StepListener ALWAYS = (s, d) -> true;
  }

  /**
   * Runs the optimisation.
   *
   * @param contexts the context templates (each with one {} where the prompt goes)
   * @param promptTemplate the request's prompt with {} for the subject
   * @param targetNew the new target with its leading space (EasyEdit's {@code " " + target_new})
   */
  public static Result optimise(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      ValueOptimization hp,
      ContextTemplates contexts,
      String promptTemplate,
      String subject,
      String targetNew,
      EditLog log,
      StepListener listener) {
    return optimise(
        model,
        tok,
        policy,
        ctx,
        layer,
        hp,
        contexts,
        promptTemplate,
        subject,
        targetNew,
        log,
        listener,
        null);
  }

  /**
   * The same with dynamic loss scaling of the delta's backward ({@code torch.amp.GradScaler}
   * semantics; not in EasyEdit): the backward is seeded with the scale S instead of 1, δ's FP32
   * gradient is unscaled, and a step whose scaled gradient holds inf/NaN is skipped and S halved.
   *
   * @param scaler the loss scaler, or null for EasyEdit's plain backward
   */
  public static Result optimise(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      ValueOptimization hp,
      ContextTemplates contexts,
      String promptTemplate,
      String subject,
      String targetNew,
      EditLog log,
      StepListener listener,
      LossScaler scaler) {
    return optimise(
        model,
        tok,
        policy,
        ctx,
        layer,
        DeltaSite.MLP_OUTPUT,
        hp,
        contexts,
        promptTemplate,
        subject,
        targetNew,
        log,
        listener,
        scaler);
  }

  /** Where δ is added (and v_init read) at the subject's last token of every prompt. */
  public enum DeltaSite {
    /** ROME's v*: the output of {@code model.layers.L.mlp} (compute_v.py). */
    MLP_OUTPUT,
    /**
     * MEMIT's z: the output of {@code model.layers.L}, the residual stream (memit compute_z.py).
     */
    RESIDUAL
  }

  /**
   * The same objective with δ at {@code site}: ROME's v* ({@link DeltaSite#MLP_OUTPUT}) or MEMIT's
   * and AlphaEdit's z ({@link DeltaSite#RESIDUAL}; v_init is then the residual after layer L).
   */
  public static Result optimise(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      DeltaSite site,
      ValueOptimization hp,
      ContextTemplates contexts,
      String promptTemplate,
      String subject,
      String targetNew,
      EditLog log,
      StepListener listener,
      LossScaler scaler) {
    return optimise(
        model,
        tok,
        policy,
        ctx,
        layer,
        site,
        hp,
        contexts,
        promptTemplate,
        subject,
        targetNew,
        log,
        listener,
        scaler,
        true);
  }

  /**
   * {@code freezePrefix = false} runs the whole forward at every step, as EasyEdit does (the twin
   * the tests compare the frozen prefix against: the same results, logs and trace records). Both
   * sites share the frozen prefix: δ enters at or after layer L's MLP output.
   */
  static Result optimise(
      LlamaModel model,
      Tokenizer tok,
      PrecisionPolicy policy,
      OpContext ctx,
      int layer,
      DeltaSite site,
      ValueOptimization hp,
      ContextTemplates contexts,
      String promptTemplate,
      String subject,
      String targetNew,
      EditLog log,
      StepListener listener,
      LossScaler scaler,
      boolean freezePrefix) {
    List<String> rewriting = contexts.around(promptTemplate);
    int nRewrite = rewriting.size();
    int b = nRewrite + 1; // + the KL prompt "{} is a"
    int[][] tokens = new int[b][];
    int[] lookup = new int[b];
    int[] targetIds;
    List<String> prompts = new ArrayList<>();
    if (hp.targetTokens() == TargetTokens.EASYEDIT) {
      // EasyEdit: tok.encode(target) on its own; prompts = context + tok.decode(target_ids[:-1]).
      targetIds = tok.encode(targetNew, false, false);
      if (targetIds.length == 0) {
        throw new IllegalArgumentException("the target \"" + targetNew + "\" encodes to no tokens");
      }
      String targetPrefix = tok.decode(Arrays.copyOf(targetIds, targetIds.length - 1));
      for (String c : rewriting) {
        prompts.add(c + targetPrefix);
      }
      prompts.add("{} is a");
      for (int i = 0; i < b; i++) {
        tokens[i] = tok.encode(SubjectPositions.fill(prompts.get(i), subject), true, false);
      }
    } else {
      // In context: the tokens that follow each prompt in the encoding of prompt + target, as the
      // evaluation teacher-forces them; the model reads all but the last.
      targetIds = null;
      for (int i = 0; i < nRewrite; i++) {
        String prompt = SubjectPositions.fill(rewriting.get(i), subject);
        int[] alone = tok.encode(prompt, true, false);
        int[] full = tok.encode(prompt + targetNew, true, false);
        int[] ids = Arrays.copyOfRange(full, Math.min(alone.length, full.length), full.length);
        if (ids.length == 0 || !Arrays.equals(alone, Arrays.copyOf(full, alone.length))) {
          throw new IllegalArgumentException(
              "target_tokens in_context: \""
                  + prompt
                  + "\" does not encode as a"
                  + " prefix of \""
                  + prompt
                  + targetNew
                  + "\"; use target_tokens: easyedit");
        }
        if (targetIds == null) {
          targetIds = ids;
          log.line(
              "nanscope: target_tokens in_context (not EasyEdit's tok.encode(target)): "
                  + pieces(tok, ids));
        } else if (!Arrays.equals(ids, targetIds)) {
          throw new IllegalArgumentException(
              "target_tokens in_context: the target encodes as "
                  + pieces(tok, ids)
                  + " after \""
                  + prompt
                  + "\" but as "
                  + pieces(tok, targetIds)
                  + " after the first prompt;"
                  + " use target_tokens: easyedit");
        }
        tokens[i] = Arrays.copyOf(full, full.length - 1);
        // The text the model reads: the prompt and all target tokens but the last (for the log
        // line).
        String read = tok.decode(Arrays.copyOfRange(full, 1, full.length - 1));
        String shown = tok.decode(Arrays.copyOfRange(alone, 1, alone.length));
        prompts.add(
            rewriting.get(i) + (read.startsWith(shown) ? read.substring(shown.length()) : ""));
      }
      prompts.add("{} is a");
      tokens[b - 1] = tok.encode(SubjectPositions.fill(prompts.get(b - 1), subject), true, false);
    }
    for (int i = 0; i < b; i++) {
      lookup[i] = SubjectPositions.subjectLast(tok, prompts.get(i), subject);
    }
    int t = Arrays.stream(tokens).mapToInt(r -> r.length).max().orElseThrow();
    int v = model.config().vocabSize();
    int c = model.config().dim();
    // Targets: the last n positions of each rewriting prompt predict the n target tokens.
    int[] targets = new int[b * t];
    boolean[] mask = new boolean[b * t];
    for (int i = 0; i < nRewrite; i++) {
      int exLen = tokens[i].length;
      for (int j = 0; j < targetIds.length; j++) {
        int pos = exLen - targetIds.length + j;
        targets[i * t + pos] = targetIds[j];
        mask[i * t + pos] = true;
      }
    }
    String first = SubjectPositions.fill(prompts.getFirst(), subject);
    log.line(
        "Lookup index found: "
            + lookup[0]
            + " | Sentence: "
            + first
            + " | Token: "
            + tok.decode(new int[] {tokens[0][lookup[0]]}));
    int lossLayer = Math.max(hp.lossLayer(), layer);
    log.line("Rewrite layer is " + layer);
    log.line("Tying optimization objective to " + lossLayer);

    Tensor delta = Tensor.zeros(FloatFormat.FP32, Shape.of(c));
    Adam adam = new Adam(hp.lr(), FloatFormat.FP32);
    Precision fp32 = Precision.FP32;
    Tensor klInit = null;
    float[] init = null;
    double initNorm = Double.NaN;
    double initNormSq = Double.NaN;
    List<Step> steps = new ArrayList<>();
    SequenceBatch batch = new SequenceBatch(tokens);
    Site lossSite = new Site("loss");
    // Everything below layers.L.mlp's output is the same at every step: computed once (its trace
    // records replayed at each later step, so a tracer sees what a full forward would report).
    FrozenPrefix prefix = null;
    for (int it = 0; it < hp.numGradSteps(); it++) {
      Tape tape = new Tape();
      Var d = tape.param(delta, "delta");
      Hooks hooks = Hooks.none();
      boolean mlp = site == DeltaSite.MLP_OUTPUT;
      for (int i = 0; i < b; i++) {
        hooks =
            mlp
                ? hooks.addToMlpOutput(layer, i, lookup[i], d)
                : hooks.addToResidual(layer, i, lookup[i], d);
      }
      OpContext stepCtx = ctx.withStep(it);
      SequenceOutput out;
      if (freezePrefix) {
        if (prefix == null) {
          prefix =
              FrozenPrefix.compute(
                  model,
                  batch,
                  policy,
                  stepCtx,
                  layer,
                  mlp ? Hooks.none().captureMlpOutput(layer, 0, lookup[0]) : Hooks.none());
        } else {
          prefix.replayTrace(stepCtx);
        }
        out =
            model.forwardFromMlpOutput(
                prefix.value(),
                policy,
                stepCtx,
                tape,
                init == null && !mlp ? hooks.captureResidual(layer, 0, lookup[0]) : hooks);
      } else {
        out =
            model.forward(
                batch,
                policy,
                stepCtx,
                tape,
                init == null
                    ? (mlp
                        ? hooks.captureMlpOutput(layer, 0, lookup[0])
                        : hooks.captureResidual(layer, 0, lookup[0]))
                    : hooks);
      }
      if (init == null) {
        init =
            mlp
                ? (freezePrefix
                    ? prefix.value().captured().get(Hooks.mlpOutputKey(layer, 0, lookup[0]))
                    : out.captured(Hooks.mlpOutputKey(layer, 0, lookup[0])))
                : out.captured(Hooks.residualKey(layer, 0, lookup[0]));
        log.line("Recording initial value of v*");
        // ‖v_init‖² as EasyEdit: the norm of an MLP-output-format tensor, squared in that format.
        FloatFormat outFmt = policy.storage();
        initNorm = outFmt.round(l2(init));
        initNormSq = outFmt.round(initNorm * initNorm);
      }
      Var logits = out.logits(); // (B·T, V) FP32
      Var logp = LogSoftmax.apply(tape, stepCtx, lossSite.child("log_softmax"), fp32, logits);
      Var nll = Nll.apply(tape, stepCtx, lossSite.child("nll"), fp32, logp, targets, mask);
      // KL at the KL prompt's subject token.
      Var klRow =
          Embedding.apply(
              tape,
              stepCtx,
              lossSite.child("kl_row"),
              fp32,
              logits,
              new int[] {(b - 1) * t + lookup[b - 1]});
      Var klLogp = LogSoftmax.apply(tape, stepCtx, lossSite.child("kl_log_softmax"), fp32, klRow);
      if (klInit == null) {
        klInit = klLogp.value().copy();
      }
      Var kl =
          Scale.apply(
              tape,
              stepCtx,
              lossSite.child("kl"),
              fp32,
              KlDiv.apply(
                  tape,
                  stepCtx,
                  lossSite.child("kl_div"),
                  fp32,
                  tape.constant(klInit, "kl_init"),
                  klLogp),
              hp.klFactor());
      Var wd =
          Scale.apply(
              tape,
              stepCtx,
              lossSite.child("weight_decay"),
              fp32,
              Norm.apply(tape, stepCtx, lossSite.child("delta_norm"), fp32, d),
              hp.weightDecay() / initNormSq);
      Var loss =
          Add.apply(
              tape,
              stepCtx,
              lossSite,
              fp32,
              Add.apply(tape, stepCtx, lossSite.child("nll_kl"), fp32, nll, kl),
              wd);

      double avgProb =
          averageTargetProbability(logp.value(), targets, mask, nRewrite, t, v, targetIds.length);
      Step step =
          new Step(
              it,
              loss.value().getDouble(0),
              nll.value().getDouble(0),
              kl.value().getDouble(0),
              wd.value().getDouble(0),
              avgProb);
      steps.add(step);
      log.line(step.logLine(targetNew));
      if (!listener.onStep(step, delta.toFloatArray())) {
        break;
      }
      if (step.loss() < EARLY_STOP || it == hp.numGradSteps() - 1) {
        break;
      }
      if (scaler == null) {
        tape.backward(loss);
        adam.step(List.of(new ParamGrad("delta", delta, d.grad())), stepCtx.tracer());
      } else {
        tape.backward(loss, Tape.scalar(scaler.scale()));
        scaler.step(adam, List.of(new ParamGrad("delta", delta, d.grad())), stepCtx.tracer());
        scaler.update();
      }
      double maxNorm = hp.clampNormFactor() * initNorm;
      double dn = l2(delta.toFloatArray());
      if (dn > maxNorm) {
        float[] dd = delta.toFloatArray();
        for (int j = 0; j < dd.length; j++) {
          dd[j] = (float) (dd[j] * maxNorm / dn);
        }
        delta.copyFrom(dd);
      }
    }
    float[] dd = delta.toFloatArray();
    float[] target = new float[c];
    FloatFormat outFmt = policy.storage();
    for (int j = 0; j < c; j++) {
      target[j] = outFmt.round(init[j] + outFmt.round(dd[j]));
    }
    return new Result(target, init, dd, List.copyOf(steps));
  }

  private static String pieces(Tokenizer tok, int[] ids) {
    return Arrays.stream(ids).mapToObj(tok::piece).toList().toString();
  }

  /** EasyEdit's "avg prob": mean over rewriting prompts of exp(−per-prompt mean NLL). */
  static double averageTargetProbability(
      Tensor logp, int[] targets, boolean[] mask, int nRewrite, int t, int v, int nTargets) {
    double sum = 0;
    for (int i = 0; i < nRewrite; i++) {
      double s = 0;
      for (int p = 0; p < t; p++) {
        int row = i * t + p;
        if (mask[row]) {
          s += logp.getDouble((long) row * v + targets[row]);
        }
      }
      sum += Math.exp(s / nTargets);
    }
    return sum / nRewrite;
  }

  static double l2(float[] x) {
    double s = 0;
    for (float f : x) {
      s += (double) f * f;
    }
    return Math.sqrt(s);
  }
}
