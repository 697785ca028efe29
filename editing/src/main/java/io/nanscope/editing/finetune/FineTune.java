package io.nanscope.editing.finetune;

import io.nanscope.editing.hparams.FtHyperParams;
import io.nanscope.editing.hparams.ModuleTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.OptimiserStateSite;
import io.nanscope.editing.keys.PyFloat;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.autograd.Adam;
import io.nanscope.engine.autograd.ParamGrad;
import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.WeightNames;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Fine-tuning edits, FT-L and FT-M (Zhang et al. 2024, "A Comprehensive Study of Knowledge Editing
 * for Large Language Models", arXiv 2401.01286, §4: FT-L after Meng et al. 2022's constrained
 * fine-tuning baseline, FT-M its teacher-forced variant), with EasyEdit's semantics
 * (easyeditor/models/ft/ft_main.py, {@code execute_ft}): the weights named by {@code
 * rewrite_module_tmp} at {@code layers} (Llama-2: {@code model.layers.21.mlp.down_proj.weight}) are
 * trained with
 *
 * <pre>
 *   Adam(lr, betas (0.9, 0.999), eps 1e-8, weight_decay)       torch.optim.Adam defaults otherwise
 *   for epoch in 0 … num_steps−1:
 *     for each batch of batch_size requests:
 *       L = FtLoss (prompt_last: FT-L, target_new: FT-M)      logged "Batch loss L"
 *       if L ≥ 1e-2: backward, Adam step                     (a NaN loss never steps)
 *       if norm_constraint = ε: W ← clamp(W, W₀ − ε, W₀ + ε)  element-wise, after every batch
 *     stop when the epoch's mean loss &lt; 1e-2
 *   ΔW = W − W₀,  W' = W₀ + ΔW                                (EasyEdit returns ΔW, then adds it)
 * </pre>
 *
 * <p>Precision: the forward and backward run in the {@link PrecisionPolicy} (weights in its storage
 * format, their gradient in the same format, as PyTorch's {@code .grad}); Adam's state is in the
 * weight's format by default — {@code torch.optim.Adam} creates it with {@code zeros_like(param)} —
 * or in {@link Options#adamStateFormat} when set (FP32 moments, a labelled option), else in the
 * output format of a policy site override of {@code adam.<first trained weight>} ({@code
 * OptimiserStateSite}; one Adam, so one state format for every trained weight). ΔW, W₀ ± ε and W₀ +
 * ΔW are computed in FP32 and rounded once to the weight's format, as PyTorch's kernels do. The
 * tracer sees the model's sites, the losses ({@code loss.b.*}), Adam ({@code
 * adam.layers.L.mlp.down_proj.weight.*}) and {@code
 * ft.layers.L.mlp.down_proj.weight.{norm_constraint,delta,updated}}.
 *
 * <p>{@link #compute} never writes the model: it trains copies and returns the new weights; {@link
 * #apply} writes them. Only {@code down_proj} weights can be rewritten (the model has no other
 * writable weight); {@code kl_factor} and {@code max_length} are read but, as in EasyEdit's FT,
 * unused.
 */
public final class FineTune {

  private FineTune() {}

  /**
   * EasyEdit's thresholds: a batch with loss below it does not step; an epoch mean below it stops.
   */
  public static final double STOP_LOSS = 1e-2;

  /**
   * How to run.
   *
   * @param policy the precision policy of every forward and backward
   * @param ctx tracer, threads
   * @param listener sees every batch's loss (the precision fallback stops at the first non-finite
   *     one)
   * @param adamStateFormat Adam's moment format, or null for the weight's own (PyTorch)
   */
  public record Options(
      PrecisionPolicy policy, OpContext ctx, StepListener listener, FloatFormat adamStateFormat) {

    public Options {
      Objects.requireNonNull(policy, "policy");
      Objects.requireNonNull(ctx, "ctx");
      Objects.requireNonNull(listener, "listener");
    }

    public static Options of(PrecisionPolicy policy, OpContext ctx) {
      return new Options(policy, ctx, StepListener.ALWAYS, null);
    }

    public Options withListener(StepListener l) {
      return new Options(policy, ctx, l, adamStateFormat);
    }

    /**
     * Adam's moments in {@code f} instead of the weight's format (not what PyTorch does; labelled).
     */
    public Options withAdamStateFormat(FloatFormat f) {
      return new Options(policy, ctx, listener, f);
    }
  }

  /** One batch's loss, as EasyEdit logs it. */
  public record Step(int epoch, int batch, double loss, boolean stepped) {

    public boolean finite() {
      return Double.isFinite(loss);
    }
  }

  /** Observes each batch's loss; returning false stops the training before that batch's step. */
  @FunctionalInterface
  public interface StepListener {
    boolean onStep(Step step);

    StepListener ALWAYS = s -> true;
  }

  /**
   * One trained weight.
   *
   * @param weightName e.g. {@code model.layers.21.mlp.down_proj.weight}
   * @param delta ΔW = W − W₀ in the weight's format (what EasyEdit's execute_ft returns)
   * @param updated W' = W₀ + ΔW, not yet written into the model
   * @param nonFiniteWeights NaN or infinite values in {@code updated}
   */
  public record LayerUpdate(
      int layer, String weightName, Tensor delta, Tensor updated, long nonFiniteWeights) {}

  /**
   * Every trained weight for a batch of requests.
   *
   * @param steps one entry per batch loss computed, in order
   * @param stoppedByListener whether the listener ended the training
   */
  public record Outcome(
      List<EditRequest> requests,
      List<LayerUpdate> layers,
      List<Step> steps,
      boolean stoppedByListener) {

    public Outcome {
      requests = List.copyOf(requests);
      layers = List.copyOf(layers);
      steps = List.copyOf(steps);
    }

    /** Whether every loss and every new weight is finite. */
    public boolean finite() {
      return layers.stream().allMatch(l -> l.nonFiniteWeights() == 0)
          && steps.stream().allMatch(Step::finite);
    }
  }

  /** Trains on {@code requests} and returns the new weights (the model is left as it was). */
  public static Outcome compute(
      LlamaModel model,
      Tokenizer tok,
      FtHyperParams hp,
      List<EditRequest> requests,
      Options opt,
      EditLog log) {
    if (requests.isEmpty()) {
      throw new IllegalArgumentException("fine-tuning needs at least one edit request");
    }
    FtLoss.Objective objective = FtLoss.Objective.of(hp.objectiveOptimization());
    List<String> prompts = new ArrayList<>();
    List<String> targets = new ArrayList<>();
    for (EditRequest r : requests) {
      String target = r.targetNew().equals(" ") ? r.targetNew() : " " + r.targetNew();
      prompts.add(r.filledPrompt());
      targets.add(target);
      log.line("Executing FT algo for: [" + r.filledPrompt() + "] -> [" + target + "]");
    }
    List<Integer> layers = trainedLayers(model, hp);
    List<String> names = layers.stream().map(WeightNames.Layer.W_DOWN::hf).toList();
    log.line("Weights to be updated: " + pyList(names));

    FloatFormat wf = opt.policy().storage();
    Tensor[] original = new Tensor[layers.size()];
    Tensor[] trained = new Tensor[layers.size()];
    String[] sites = new String[layers.size()];
    for (int i = 0; i < layers.size(); i++) {
      original[i] = model.weights().get(layers.get(i), WeightNames.Layer.W_DOWN);
      if (original[i].format() != wf) {
        throw new IllegalArgumentException(
            names.get(i)
                + " is stored in "
                + original[i].format().name()
                + " but the policy "
                + opt.policy().name()
                + " stores weights in "
                + wf.name()
                + ": load the model with the policy's storage format");
      }
      trained[i] = original[i].copy();
      sites[i] = names.get(i).substring("model.".length());
    }
    Adam adam =
        new Adam(
            hp.lr(),
            0.9,
            0.999,
            1e-8,
            hp.weightDecay(),
            opt.adamStateFormat() != null
                ? opt.adamStateFormat()
                : OptimiserStateSite.format(opt.policy(), sites[0], wf));

    List<FtLoss.Batch> batches = new ArrayList<>();
    List<Integer> sizes = new ArrayList<>();
    for (int from = 0; from < requests.size(); from += hp.batchSize()) {
      int to = Math.min(requests.size(), from + hp.batchSize());
      batches.add(
          FtLoss.batch(tok, objective, prompts.subList(from, to), targets.subList(from, to)));
      sizes.add(to - from);
    }
    Tracer tracer = opt.ctx().tracer();
    List<Step> steps = new ArrayList<>();
    boolean stopped = false;
    int step = 0;
    for (int epoch = 0; epoch < hp.numSteps() && !stopped; epoch++) {
      log.line("=".repeat(20));
      log.line("Epoch: " + epoch);
      log.line("=".repeat(20));
      double sum = 0;
      int count = 0;
      for (int c = 0; c < batches.size(); c++, step++) {
        OpContext ctx = opt.ctx().withStep(step);
        Tape tape = new Tape();
        Map<String, Var> params = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++) {
          params.put(names.get(i), tape.param(trained[i], sites[i]));
        }
        Var loss = FtLoss.loss(model, opt.policy(), ctx, tape, batches.get(c), params);
        double l = loss.value().getDouble(0);
        log.line("Batch loss " + PyFloat.repr(l));
        sum += l * sizes.get(c);
        count += sizes.get(c);
        boolean willStep = l >= STOP_LOSS;
        Step s = new Step(epoch, c, l, willStep);
        steps.add(s);
        if (!opt.listener().onStep(s)) {
          stopped = true;
          break;
        }
        if (willStep) {
          tape.backward(loss);
          List<ParamGrad> grads = new ArrayList<>();
          for (int i = 0; i < layers.size(); i++) {
            Tensor g = params.get(names.get(i)).grad();
            if (g != null) { // torch.optim skips a parameter whose .grad is None
              grads.add(new ParamGrad(sites[i], trained[i], g));
            }
          }
          adam.step(grads, tracer);
        }
        if (hp.normConstraint().isPresent()) {
          for (int i = 0; i < layers.size(); i++) {
            clamp(
                trained[i],
                original[i],
                hp.normConstraint().getAsDouble(),
                tracer,
                Site.of("ft", sites[i], "norm_constraint"),
                step);
          }
        }
      }
      if (stopped) {
        break;
      }
      double avg = sum / count;
      log.line("Total loss " + PyFloat.repr(avg));
      if (avg < STOP_LOSS) {
        break;
      }
    }
    List<LayerUpdate> updates = new ArrayList<>();
    for (int i = 0; i < layers.size(); i++) {
      Tensor delta =
          difference(trained[i], original[i], tracer, Site.of("ft", sites[i], "delta"), step);
      Tensor updated = sum(original[i], delta, tracer, Site.of("ft", sites[i], "updated"), step);
      updates.add(new LayerUpdate(layers.get(i), names.get(i), delta, updated, nonFinite(updated)));
    }
    log.line("Deltas successfully computed for " + pyList(names));
    return new Outcome(requests, updates, steps, stopped);
  }

  /** Writes the new weights into the model (even non-finite ones: EasyEdit checks nothing). */
  public static void apply(LlamaModel model, Outcome outcome, EditLog log) {
    for (LayerUpdate l : outcome.layers()) {
      Tensor w = model.writableDownProj(l.layer());
      if (w.format() != l.updated().format() || !w.shape().equals(l.updated().shape())) {
        throw new IllegalArgumentException(
            "cannot write " + l.updated() + " over " + l.weightName() + " " + w);
      }
      MemorySegment.copy(l.updated().segment(), 0, w.segment(), 0, w.segment().byteSize());
    }
    log.line(
        "New weights successfully inserted into "
            + pyList(outcome.layers().stream().map(LayerUpdate::weightName).toList()));
  }

  /**
   * The layers whose weights EasyEdit's {@code named_parameters()} filter selects ({@code
   * rewrite_module_tmp.format(layer) in name}), in the model's order; every selected weight must be
   * a {@code down_proj}.
   */
  static List<Integer> trainedLayers(LlamaModel model, FtHyperParams hp) {
    int n = model.config().nLayers();
    List<String> all = new ArrayList<>();
    all.add(WeightNames.Global.EMBEDDING.hf());
    for (int l = 0; l < n; l++) {
      for (WeightNames.Layer t : WeightNames.Layer.values()) {
        all.add(t.hf(l));
      }
    }
    all.add(WeightNames.Global.FINAL_NORM.hf());
    all.add(WeightNames.Global.CLASSIFIER.hf());
    List<Integer> layers = new ArrayList<>();
    for (int layer : hp.layers()) {
      if (layer >= n) {
        throw new IllegalArgumentException(
            "layers: "
                + layer
                + " is not a layer of this model (it has "
                + n
                + ", 0 to "
                + (n - 1)
                + ")");
      }
    }
    for (String name : all) {
      boolean selected =
          hp.layers().stream()
              .anyMatch(
                  l -> name.contains(ModuleTemplates.atLayer(hp.modules().rewriteModule(), l)));
      if (!selected) {
        continue;
      }
      int layer = downProjLayer(name, n);
      if (layer < 0) {
        throw new IllegalArgumentException(
            "rewrite_module_tmp \""
                + hp.modules().rewriteModule()
                + "\" selects "
                + name
                + "; only down_proj weights can be rewritten here: use"
                + " \"model.layers.{}.mlp.down_proj.weight\"");
      }
      layers.add(layer);
    }
    if (layers.isEmpty()) {
      throw new IllegalArgumentException(
          "rewrite_module_tmp \""
              + hp.modules().rewriteModule()
              + "\" at layers "
              + hp.layers()
              + " names no weight of the model: use \"model.layers.{}.mlp.down_proj.weight\"");
    }
    return layers;
  }

  private static int downProjLayer(String name, int n) {
    for (int l = 0; l < n; l++) {
      if (name.equals(WeightNames.Layer.W_DOWN.hf(l))) {
        return l;
      }
    }
    return -1;
  }

  /**
   * {@code W ← clamp(W, W₀ − ε, W₀ + ε)} (torch.clamp with tensor bounds: min(max(W, lo), hi), NaN
   * stays NaN); the bounds are computed in FP32 and rounded to W's format, as {@code
   * weights_copy[k] − eps}.
   */
  static void clamp(Tensor w, Tensor w0, double eps, Tracer tracer, Site site, int step) {
    FloatFormat f = w.format();
    float e = (float) eps;
    Tensor before = tracer.enabled() ? w.copy() : null;
    for (long i = 0; i < w.size(); i++) {
      float base = w0.get(i);
      float lo = f.round(base - e);
      float hi = f.round(base + e);
      w.set(i, Math.min(Math.max(w.get(i), lo), hi));
    }
    if (before != null) {
      tracer.record(
          new OpRecord(site, "clamp", Phase.OPTIMIZER, step, List.of(before, w0), w.copy(), null));
    }
  }

  /** {@code a − b} computed in FP32 and rounded to a's format. */
  static Tensor difference(Tensor a, Tensor b, Tracer tracer, Site site, int step) {
    return elementwise(a, b, -1, "sub", tracer, site, step);
  }

  /** {@code a + b} computed in FP32 and rounded to a's format. */
  static Tensor sum(Tensor a, Tensor b, Tracer tracer, Site site, int step) {
    return elementwise(a, b, 1, "add", tracer, site, step);
  }

  private static Tensor elementwise(
      Tensor a, Tensor b, int sign, String op, Tracer tracer, Site site, int step) {
    FloatFormat f = a.format();
    Tensor out = Tensor.zeros(f, a.shape());
    float[] unrounded =
        tracer.enabled() && f != FloatFormat.FP32 ? new float[Math.toIntExact(a.size())] : null;
    for (long i = 0; i < a.size(); i++) {
      float v = sign > 0 ? a.get(i) + b.get(i) : a.get(i) - b.get(i);
      out.set(i, f.round(v));
      if (unrounded != null) {
        unrounded[(int) i] = v;
      }
    }
    if (tracer.enabled()) {
      Tensor u = unrounded == null ? null : Tensor.of(FloatFormat.FP32, a.shape(), unrounded);
      tracer.record(new OpRecord(site, op, Phase.OPTIMIZER, step, List.of(a, b), out, u));
    }
    return out;
  }

  static long nonFinite(Tensor t) {
    long n = 0;
    for (long i = 0; i < t.size(); i++) {
      if (!Float.isFinite(t.get(i))) {
        n++;
      }
    }
    return n;
  }

  private static String pyList(List<String> names) {
    return names.stream().map(s -> "'" + s + "'").toList().toString();
  }
}
