package io.nanscope.llama.model;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.Add;
import io.nanscope.engine.op.Cast;
import io.nanscope.engine.op.CausalAttention;
import io.nanscope.engine.op.Embedding;
import io.nanscope.engine.op.MatMul;
import io.nanscope.engine.op.Mul;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.op.RmsNorm;
import io.nanscope.engine.op.Rope;
import io.nanscope.engine.op.Silu;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.TokenRows;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.weights.LayerWeights;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.WeightNames;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The Llama-2 decoder (Touvron et al. 2023; HF {@code LlamaForCausalLM}, llama2.c {@code run.c}),
 * built from the engine's ops so that every op runs in the {@link PrecisionPolicy}'s precision for
 * its kind and site, reports to the tracer, and (in sequence mode) records on the tape.
 *
 * <p>Per layer l, with x the residual stream (T, C):
 *
 * <pre>
 * h = input_layernorm(x)                      // RMSNorm
 * q = rope_q(q_proj(h)); k = rope_k(k_proj(h)); v = v_proj(h)   // (T, H·D), (T, Hkv·D)
 * x = residual_attn: x + o_proj(self_attn(q, k, v))             // causal, GQA
 * h = post_attention_layernorm(x)
 * m = act_mul_up: act(gate_proj(h)) · up_proj(h)                // (T, F), SiLU; ROME's key k
 * x = residual_mlp: x + down_proj(m)                            // layers.l.mlp output = down_proj(m)
 * </pre>
 *
 * then {@code logits = lm_head(norm(x))}, upcast to FP32 when narrower ({@code logits.float()}).
 * Site names are HF's without the {@code model.} prefix: {@code embed_tokens}, {@code
 * layers.l.input_layernorm}, {@code layers.l.self_attn.q_proj}, {@code layers.l.self_attn.rope_q},
 * {@code layers.l.self_attn} (the attention op; its softmax reports at {@code
 * layers.l.self_attn.softmax}), {@code layers.l.mlp.act}, {@code layers.l.mlp.act_mul_up}, {@code
 * layers.l.mlp.down_proj}, {@code layers.l.residual_attn}, {@code layers.l.residual_mlp}, {@code
 * norm}, {@code lm_head}, {@code lm_head.float}.
 *
 * <p>RoPE pairs coordinates as the weights' rows are ordered ({@link LlamaConfig#ropeLayout()}):
 * Meta interleaved pairs for llama2.c checkpoints, HF {@code rotate_half} for HF directories.
 *
 * <p>Decode mode runs the same code on one row against a KV cache; every op and kernel reduces in
 * the same order for one row as for a row of a batch (engine.simd.Kernels' contract, and masked
 * keys contribute exact zeros), so decode logits equal the sequence logits of the same position bit
 * for bit (tested).
 *
 * <p>Thread safety: {@link #forward} and decode sessions only read the weights; {@link
 * #writableDownProj} swaps a tensor in and must not race with them.
 */
public final class LlamaModel {

  private final LlamaConfig config;
  private volatile LlamaWeights weights;
  private final Rope.Layout ropeLayout;
  private final Tensor[] ownDown;

  private LlamaModel(LlamaWeights weights) {
    this.config = weights.config();
    this.weights = weights;
    this.ropeLayout =
        config.ropeLayout() == RopeLayout.META_INTERLEAVED
            ? Rope.Layout.INTERLEAVED
            : Rope.Layout.HALF;
    this.ownDown = new Tensor[config.nLayers()];
  }

  /**
   * Loads a llama2.c {@code .bin} (the file, or a directory with exactly one besides its {@code
   * tok*.bin}) or a HF directory, with the weights stored in {@code storage}: tensors already in
   * {@code storage} are used as mapped (no copy); if any differs, every tensor is rounded once
   * (nearest-even) to a heap copy.
   */
  public static LlamaModel load(Path model, FloatFormat storage) throws IOException {
    Objects.requireNonNull(storage, "storage");
    LlamaWeights w = LlamaWeights.read(model);
    return new LlamaModel(allIn(w, storage) ? w : w.to(storage));
  }

  /**
   * Loads a model with its weights as stored in the file (mapped, no copy). 16-bit weights decode
   * exactly to FP32, so this is also the right storage for the {@code fp32} policy.
   */
  public static LlamaModel load(Path model) throws IOException {
    return new LlamaModel(LlamaWeights.read(model));
  }

  /** A model over weights already in memory. */
  public static LlamaModel of(LlamaConfig config, LlamaWeights weights) {
    if (!config.equals(weights.config())) {
      throw new IllegalArgumentException(
          "the config " + config + " differs from the weights' config " + weights.config());
    }
    return new LlamaModel(weights);
  }

  private static boolean allIn(LlamaWeights w, FloatFormat f) {
    if (w.embedding().format() != f
        || w.finalNorm().format() != f
        || w.classifier().format() != f) {
      return false;
    }
    for (LayerWeights lw : w.layers()) {
      for (WeightNames.Layer t : WeightNames.Layer.values()) {
        if (lw.get(t).format() != f) {
          return false;
        }
      }
    }
    return true;
  }

  public LlamaConfig config() {
    return config;
  }

  /** The current weights (after {@link #writableDownProj} swapped a heap copy in, that copy). */
  public LlamaWeights weights() {
    return weights;
  }

  /**
   * A heap copy of layer {@code layer}'s W_down (C, F) in its storage format, swapped into the
   * model on the first call (mapped weights are read-only); later calls return the same tensor.
   * Writes to it change the model (ROME's rank-one update). Decode sessions opened before the first
   * call keep the old tensor.
   */
  public synchronized Tensor writableDownProj(int layer) {
    Objects.checkIndex(layer, config.nLayers());
    if (ownDown[layer] != null) {
      return ownDown[layer];
    }
    LlamaWeights w = weights;
    LayerWeights lw = w.layers().get(layer);
    Tensor copy = lw.wDown().copy();
    List<LayerWeights> layers = new ArrayList<>(w.layers());
    layers.set(
        layer,
        new LayerWeights(
            lw.attnNorm(),
            lw.wq(),
            lw.wk(),
            lw.wv(),
            lw.wo(),
            lw.ffnNorm(),
            lw.wGate(),
            lw.wUp(),
            copy));
    weights = new LlamaWeights(w.config(), w.embedding(), layers, w.finalNorm(), w.classifier());
    ownDown[layer] = copy;
    return copy;
  }

  /**
   * Leaf Vars for the weights whose HF names {@code select} accepts ({@code
   * model.layers.21.mlp.down_proj.weight}), marked {@link Tape#param} so gradients reach them; pass
   * the map to {@link #forward(SequenceBatch, PrecisionPolicy, OpContext, Tape, Hooks, Map)}.
   */
  public Map<String, Var> weightsAsParams(Tape tape, Predicate<String> select) {
    Map<String, Var> out = new LinkedHashMap<>();
    LlamaWeights w = weights;
    for (WeightNames.Global g : WeightNames.Global.values()) {
      if (select.test(g.hf())) {
        out.put(g.hf(), tape.param(w.get(g), g.hf()));
      }
    }
    for (int l = 0; l < config.nLayers(); l++) {
      for (WeightNames.Layer t : WeightNames.Layer.values()) {
        if (select.test(t.hf(l))) {
          out.put(t.hf(l), tape.param(w.get(l, t), t.hf(l)));
        }
      }
    }
    return out;
  }

  /**
   * {@link #forward(SequenceBatch, PrecisionPolicy, OpContext, Tape, Hooks, Map)} with frozen
   * weights.
   */
  public SequenceOutput forward(
      SequenceBatch batch, PrecisionPolicy policy, OpContext ctx, Tape tape, Hooks hooks) {
    return forward(batch, policy, ctx, tape, hooks, Map.of());
  }

  /**
   * Sequence mode over a right-padded batch. Records on {@code tape} when it is not null: gradients
   * flow to any Var a hook adds and to the weights in {@code params} (from {@link
   * #weightsAsParams}); with a null tape nothing is recorded.
   */
  public SequenceOutput forward(
      SequenceBatch batch,
      PrecisionPolicy policy,
      OpContext ctx,
      Tape tape,
      Hooks hooks,
      Map<String, Var> params) {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(ctx, "ctx");
    int[] lengths = checkedLengths(batch, hooks);
    int t = batch.length();
    Tape tp = tape != null ? tape : new Tape();
    Map<String, float[]> captured = new LinkedHashMap<>();
    Var logits =
        run(
            tp,
            policy,
            ctx,
            weights,
            params,
            batch.flatTokens(0),
            batch.flatPositions(),
            attend(ctx, lengths, t),
            hooks,
            t,
            captured);
    return new SequenceOutput(logits, batch.rows(), t, captured);
  }

  /**
   * What sequence mode computes below {@code layers.L.mlp}'s output (before any delta is added), to
   * run the rest again with other deltas ({@link #forwardFromMlpOutput}): ROME's v* optimisation
   * changes only δ, which enters there, so the embedding, the layers below L and layer L up to its
   * down_proj give the same bits at every step (EasyEdit recomputes them; the result is the same).
   * Valid while the weights are unchanged.
   *
   * @param residual the residual stream after {@code layers.L.residual_attn}, (B·T, C)
   * @param mlpOutput {@code layers.L.mlp}'s output (down_proj), (B·T, C)
   * @param captured what the prefix's capture hooks captured
   */
  public record MlpOutputPrefix(
      int layer,
      SequenceBatch batch,
      Tensor residual,
      Tensor mlpOutput,
      Map<String, float[]> captured) {}

  /**
   * Runs sequence mode up to {@code layers.L.mlp}'s output, frozen weights, nothing recorded.
   * Allowed hooks: captures below layer L, and the down_proj input and MLP output captures at L.
   */
  public MlpOutputPrefix forwardToMlpOutput(
      SequenceBatch batch, PrecisionPolicy policy, OpContext ctx, int layer, Hooks hooks) {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(ctx, "ctx");
    Objects.checkIndex(layer, config.nLayers());
    int[] lengths = checkedLengths(batch, hooks);
    for (Hooks.Entry e : hooks.entries()) {
      boolean below = e.layer() < layer && e.kind() != Hooks.Kind.ADD_TO_MLP_OUTPUT;
      boolean atL =
          e.layer() == layer
              && (e.kind() == Hooks.Kind.CAPTURE_DOWN_PROJ_INPUT
                  || e.kind() == Hooks.Kind.CAPTURE_MLP_OUTPUT);
      if (!below && !atL) {
        throw new IllegalArgumentException(
            "a prefix up to layers."
                + layer
                + ".mlp cannot take the hook "
                + e
                + ": only captures below layer "
                + layer
                + " and its down_proj input or MLP output");
      }
    }
    int t = batch.length();
    Tape tape = new Tape();
    Map<String, float[]> captured = new LinkedHashMap<>();
    LlamaWeights w = weights;
    int[] positions = batch.flatPositions();
    Attend attend = attend(ctx, lengths, t);
    announceRows(ctx, batch.flatTokens(0), positions, t);
    Var x = embed(tape, policy, ctx, w, Map.of(), batch.flatTokens(0));
    for (int l = 0; l < layer; l++) {
      Var[] xd =
          toMlpOutput(tape, policy, ctx, w, Map.of(), positions, attend, hooks, t, captured, l, x);
      x = fromMlpOutput(tape, policy, ctx, hooks, t, captured, l, xd[0], xd[1]);
    }
    Var[] xd =
        toMlpOutput(
            tape, policy, ctx, w, Map.of(), positions, attend, hooks, t, captured, layer, x);
    return new MlpOutputPrefix(layer, batch, xd[0].value(), xd[1].value(), Map.copyOf(captured));
  }

  /**
   * The rest of sequence mode from a prefix: layer L's deltas and residual_mlp, the layers above,
   * the head; the same bits as {@link #forward} over the same batch and hooks. Allowed hooks: those
   * at layer L except the down_proj input capture, and any above L.
   */
  public SequenceOutput forwardFromMlpOutput(
      MlpOutputPrefix prefix, PrecisionPolicy policy, OpContext ctx, Tape tape, Hooks hooks) {
    Objects.requireNonNull(prefix, "prefix");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(ctx, "ctx");
    SequenceBatch batch = prefix.batch();
    int layer = prefix.layer();
    int[] lengths = checkedLengths(batch, hooks);
    for (Hooks.Entry e : hooks.entries()) {
      if (e.layer() < layer
          || (e.layer() == layer && e.kind() == Hooks.Kind.CAPTURE_DOWN_PROJ_INPUT)) {
        throw new IllegalArgumentException(
            "the rest from layers."
                + layer
                + ".mlp cannot take the hook "
                + e
                + ": it belongs to the prefix");
      }
    }
    int t = batch.length();
    Tape tp = tape != null ? tape : new Tape();
    Map<String, float[]> captured = new LinkedHashMap<>();
    LlamaWeights w = weights;
    announceRows(ctx, batch.flatTokens(0), batch.flatPositions(), t);
    Var d = tp.constant(prefix.mlpOutput(), "layers." + layer + ".mlp");
    capture(hooks, Hooks.Kind.CAPTURE_MLP_OUTPUT, layer, d.value(), t, captured);
    Var x =
        fromMlpOutput(
            tp,
            policy,
            ctx,
            hooks,
            t,
            captured,
            layer,
            tp.constant(prefix.residual(), "layers." + layer + ".residual_attn"),
            d);
    int[] positions = batch.flatPositions();
    Attend attend = attend(ctx, lengths, t);
    for (int l = layer + 1; l < config.nLayers(); l++) {
      Var[] xd =
          toMlpOutput(tp, policy, ctx, w, Map.of(), positions, attend, hooks, t, captured, l, x);
      x = fromMlpOutput(tp, policy, ctx, hooks, t, captured, l, xd[0], xd[1]);
    }
    return new SequenceOutput(head(tp, policy, ctx, w, Map.of(), x), batch.rows(), t, captured);
  }

  /**
   * The rows' real lengths, after checking the batch against the model and the hooks against both.
   */
  private int[] checkedLengths(SequenceBatch batch, Hooks hooks) {
    Objects.requireNonNull(batch, "batch");
    Objects.requireNonNull(hooks, "hooks");
    int b = batch.rows(), t = batch.length();
    if (t > config.maxSeqLen()) {
      throw new IllegalArgumentException(
          "a row of "
              + t
              + " tokens is longer than the model's "
              + config.maxSeqLen()
              + " positions");
    }
    int[] lengths = new int[b];
    for (int r = 0; r < b; r++) {
      lengths[r] = batch.length(r);
    }
    for (Hooks.Entry e : hooks.entries()) {
      if (e.layer() >= config.nLayers()
          || e.row() >= b
          || e.pos() >= lengths[e.row() < b ? e.row() : 0]) {
        throw new IllegalArgumentException(
            "hook at layer "
                + e.layer()
                + ", row "
                + e.row()
                + ", position "
                + e.pos()
                + " is outside the model ("
                + config.nLayers()
                + " layers) or the batch ("
                + b
                + " rows; that row's real tokens)");
      }
    }
    return lengths;
  }

  private Attend attend(OpContext ctx, int[] lengths, int t) {
    return (tape1, layer, site, gemm, softmax, q, k, v) ->
        BatchedAttention.apply(
            tape1,
            ctx,
            site,
            gemm,
            softmax,
            q,
            k,
            v,
            config.nHeads(),
            config.nKvHeads(),
            lengths,
            t);
  }

  /**
   * Decode mode: a fresh KV cache over the current weights. When every op of the policy is FP32
   * ({@link PrecisionPolicy#isAllFp32}) and the tracer is off, the step runs on float arrays
   * ({@link Fp32Decoder}, the same bits as the op path, tested); otherwise through the ops, like
   * {@link #forward}.
   */
  public DecodeSession decoder(PrecisionPolicy policy, OpContext ctx) {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(ctx, "ctx");
    return !ctx.tracer().enabled() && policy.isAllFp32()
        ? new Fp32Decoder(weights, ctx)
        : opDecoder(policy, ctx);
  }

  /** Decode mode through the engine ops (every policy, traced). */
  DecodeSession opDecoder(PrecisionPolicy policy, OpContext ctx) {
    return new Decoder(policy, ctx, weights);
  }

  // ------------------------------------------------------------------------------------ the trunk

  /** The attention of one layer, given its rotated q, k and v. */
  private interface Attend {
    Var apply(
        Tape tape, int layer, Site site, Precision gemm, Precision softmax, Var q, Var k, Var v);
  }

  private Var weight(Tape tape, Map<String, Var> params, String name, Tensor t) {
    Var p = params.get(name);
    return p != null ? p : tape.constant(t, name);
  }

  /**
   * The whole model over N = B·T flattened rows. {@code t} is T (to turn a hook's (row, pos) into a
   * flat row); captures go to {@code captured}.
   */
  private Var run(
      Tape tape,
      PrecisionPolicy policy,
      OpContext ctx,
      LlamaWeights w,
      Map<String, Var> params,
      int[] tokens,
      int[] positions,
      Attend attend,
      Hooks hooks,
      int t,
      Map<String, float[]> captured) {
    announceRows(ctx, tokens, positions, t);
    Var x = embed(tape, policy, ctx, w, params, tokens);
    for (int l = 0; l < config.nLayers(); l++) {
      Var[] xd =
          toMlpOutput(tape, policy, ctx, w, params, positions, attend, hooks, t, captured, l, x);
      x = fromMlpOutput(tape, policy, ctx, hooks, t, captured, l, xd[0], xd[1]);
    }
    return head(tape, policy, ctx, w, params, x);
  }

  /**
   * Tells an enabled tracer which token and position each flat row of the coming activations holds
   * (so an anomaly report can name the token of an offending element); nothing when tracing is off.
   */
  private static void announceRows(OpContext ctx, int[] tokens, int[] positions, int t) {
    if (ctx.tracer().enabled()) {
      ctx.tracer().rows(new TokenRows(tokens, positions, t));
    }
  }

  private Var embed(
      Tape tape,
      PrecisionPolicy policy,
      OpContext ctx,
      LlamaWeights w,
      Map<String, Var> params,
      int[] tokens) {
    Site embSite = new Site("embed_tokens");
    Var emb = weight(tape, params, WeightNames.Global.EMBEDDING.hf(), w.embedding());
    return Embedding.apply(tape, ctx, embSite, policy.of(OpKind.EMBEDDING, embSite), emb, tokens);
  }

  /** Layer l from its input x up to its MLP output: {x after residual_attn, down_proj(m)}. */
  private Var[] toMlpOutput(
      Tape tape,
      PrecisionPolicy policy,
      OpContext ctx,
      LlamaWeights w,
      Map<String, Var> params,
      int[] positions,
      Attend attend,
      Hooks hooks,
      int t,
      Map<String, float[]> captured,
      int l,
      Var x) {
    double eps = config.normEps(), theta = config.ropeTheta();
    int h = config.nHeads(), hkv = config.nKvHeads();
    Site ls = Site.of("layers", l);
    Site attn = ls.child("self_attn"), mlp = ls.child("mlp");
    Var hn =
        norm(
            tape,
            policy,
            ctx,
            ls.child("input_layernorm"),
            x,
            layerWeight(tape, params, w, l, WeightNames.Layer.ATTN_NORM),
            eps);
    Var q =
        linear(
            tape,
            policy,
            ctx,
            attn.child("q_proj"),
            hn,
            layerWeight(tape, params, w, l, WeightNames.Layer.WQ));
    Var k =
        linear(
            tape,
            policy,
            ctx,
            attn.child("k_proj"),
            hn,
            layerWeight(tape, params, w, l, WeightNames.Layer.WK));
    Var v =
        linear(
            tape,
            policy,
            ctx,
            attn.child("v_proj"),
            hn,
            layerWeight(tape, params, w, l, WeightNames.Layer.WV));
    Site rq = attn.child("rope_q"), rk = attn.child("rope_k");
    q = Rope.apply(tape, ctx, rq, policy.of(OpKind.ROPE, rq), q, h, positions, theta, ropeLayout);
    k = Rope.apply(tape, ctx, rk, policy.of(OpKind.ROPE, rk), k, hkv, positions, theta, ropeLayout);
    Var a =
        attend.apply(
            tape,
            l,
            attn,
            policy.of(OpKind.ATTENTION, attn),
            policy.of(OpKind.ATTENTION_SOFTMAX, attn.child("softmax")),
            q,
            k,
            v);
    Var o =
        linear(
            tape,
            policy,
            ctx,
            attn.child("o_proj"),
            a,
            layerWeight(tape, params, w, l, WeightNames.Layer.WO));
    Site ra = ls.child("residual_attn");
    x = Add.apply(tape, ctx, ra, policy.of(OpKind.ADD, ra), x, o);
    hn =
        norm(
            tape,
            policy,
            ctx,
            ls.child("post_attention_layernorm"),
            x,
            layerWeight(tape, params, w, l, WeightNames.Layer.FFN_NORM),
            eps);
    Var g =
        linear(
            tape,
            policy,
            ctx,
            mlp.child("gate_proj"),
            hn,
            layerWeight(tape, params, w, l, WeightNames.Layer.W_GATE));
    Var u =
        linear(
            tape,
            policy,
            ctx,
            mlp.child("up_proj"),
            hn,
            layerWeight(tape, params, w, l, WeightNames.Layer.W_UP));
    Site act = mlp.child("act"), amu = mlp.child("act_mul_up");
    Var s = Silu.apply(tape, ctx, act, policy.of(OpKind.SILU, act), g);
    Var m = Mul.apply(tape, ctx, amu, policy.of(OpKind.MUL, amu), s, u);
    capture(hooks, Hooks.Kind.CAPTURE_DOWN_PROJ_INPUT, l, m.value(), t, captured);
    Var d =
        linear(
            tape,
            policy,
            ctx,
            mlp.child("down_proj"),
            m,
            layerWeight(tape, params, w, l, WeightNames.Layer.W_DOWN));
    capture(hooks, Hooks.Kind.CAPTURE_MLP_OUTPUT, l, d.value(), t, captured);
    return new Var[] {x, d};
  }

  /** Layer l from its MLP output d: the hooks' deltas added to d, then residual_mlp x + d. */
  private Var fromMlpOutput(
      Tape tape,
      PrecisionPolicy policy,
      OpContext ctx,
      Hooks hooks,
      int t,
      Map<String, float[]> captured,
      int l,
      Var x,
      Var d) {
    Site ls = Site.of("layers", l), mlp = ls.child("mlp");
    for (Hooks.Entry e : hooks.at(Hooks.Kind.ADD_TO_MLP_OUTPUT, l)) {
      Site delta = mlp.child("delta");
      Var cast = Cast.apply(tape, ctx, delta, e.delta(), d.value().format());
      d =
          Add.atRows(
              tape,
              ctx,
              delta,
              policy.of(OpKind.ADD, delta),
              d,
              cast,
              new int[] {e.row() * t + e.pos()});
    }
    Site rm = ls.child("residual_mlp");
    x = Add.apply(tape, ctx, rm, policy.of(OpKind.ADD, rm), x, d);
    capture(hooks, Hooks.Kind.CAPTURE_RESIDUAL, l, x.value(), t, captured);
    for (Hooks.Entry e : hooks.at(Hooks.Kind.ADD_TO_RESIDUAL, l)) {
      Site delta = ls.child("delta");
      Var cast = Cast.apply(tape, ctx, delta, e.delta(), x.value().format());
      x =
          Add.atRows(
              tape,
              ctx,
              delta,
              policy.of(OpKind.ADD, delta),
              x,
              cast,
              new int[] {e.row() * t + e.pos()});
    }
    return x;
  }

  /** norm, lm_head, and the FP32 upcast of 16-bit logits. */
  private Var head(
      Tape tape,
      PrecisionPolicy policy,
      OpContext ctx,
      LlamaWeights w,
      Map<String, Var> params,
      Var x) {
    double eps = config.normEps();
    Var fin =
        norm(
            tape,
            policy,
            ctx,
            new Site("norm"),
            x,
            weight(tape, params, WeightNames.Global.FINAL_NORM.hf(), w.finalNorm()),
            eps);
    Var logits =
        linear(
            tape,
            policy,
            ctx,
            new Site("lm_head"),
            fin,
            weight(tape, params, WeightNames.Global.CLASSIFIER.hf(), w.classifier()));
    FloatFormat lf = logits.value().format();
    if (lf != FloatFormat.FP32 && lf != FloatFormat.FP64) {
      logits = Cast.apply(tape, ctx, new Site("lm_head.float"), logits, FloatFormat.FP32);
    }
    return logits;
  }

  private Var layerWeight(
      Tape tape, Map<String, Var> params, LlamaWeights w, int l, WeightNames.Layer which) {
    return weight(tape, params, which.hf(l), w.get(l, which));
  }

  private static Var norm(
      Tape tape, PrecisionPolicy policy, OpContext ctx, Site site, Var x, Var w, double eps) {
    return RmsNorm.apply(tape, ctx, site, policy.of(OpKind.RMSNORM, site), x, w, eps);
  }

  private static Var linear(
      Tape tape, PrecisionPolicy policy, OpContext ctx, Site site, Var x, Var w) {
    return MatMul.apply(tape, ctx, site, policy.of(OpKind.MATMUL, site), x, w);
  }

  private static void capture(
      Hooks hooks, Hooks.Kind kind, int layer, Tensor value, int t, Map<String, float[]> out) {
    for (Hooks.Entry e : hooks.at(kind, layer)) {
      int cols = Math.toIntExact(value.shape().cols());
      long base = (long) (e.row() * t + e.pos()) * cols;
      float[] v = new float[cols];
      for (int j = 0; j < cols; j++) {
        v[j] = value.get(base + j);
      }
      out.put(Hooks.key(e), v);
    }
  }

  // ------------------------------------------------------------------------------------ decode

  /** One sequence, one token at a time, over a growing KV cache per layer: (pos, Hkv·D). */
  private final class Decoder implements DecodeSession {
    private final PrecisionPolicy policy;
    private final OpContext ctx;
    private final LlamaWeights w;
    private final Tensor[] kCache, vCache;
    private int pos;

    Decoder(PrecisionPolicy policy, OpContext ctx, LlamaWeights w) {
      this.policy = Objects.requireNonNull(policy, "policy");
      this.ctx = Objects.requireNonNull(ctx, "ctx");
      this.w = w;
      this.kCache = new Tensor[config.nLayers()];
      this.vCache = new Tensor[config.nLayers()];
    }

    @Override
    public float[] next(int token) {
      if (pos >= config.maxSeqLen()) {
        throw new IllegalArgumentException(
            "the model has "
                + config.maxSeqLen()
                + " positions; position "
                + pos
                + " is past the end");
      }
      if (token < 0 || token >= config.vocabSize()) {
        throw new IllegalArgumentException(
            "token " + token + " is outside the vocabulary [0, " + config.vocabSize() + ")");
      }
      OpContext c = ctx.withStep(pos);
      Attend attend =
          (tape, layer, site, gemm, softmax, q, k, v) -> {
            kCache[layer] = append(kCache[layer], k.value());
            vCache[layer] = append(vCache[layer], v.value());
            Tensor kc = kCache[layer].slice(0, pos + 1), vc = vCache[layer].slice(0, pos + 1);
            CausalAttention.Forward f =
                CausalAttention.forward(
                    c,
                    site,
                    gemm,
                    softmax,
                    q.value(),
                    kc,
                    vc,
                    config.nHeads(),
                    config.nKvHeads(),
                    null);
            return tape.constant(f.out(), "attention@" + site);
          };
      Var logits =
          run(
              new Tape(),
              policy,
              c,
              w,
              Map.of(),
              new int[] {token},
              new int[] {pos},
              attend,
              Hooks.none(),
              1,
              new LinkedHashMap<>());
      pos++;
      return logits.value().toFloatArray();
    }

    /** Writes the (1, X) row at position {@code pos}, growing the cache by doubling. */
    private Tensor append(Tensor cache, Tensor row) {
      long cols = row.shape().cols();
      if (cache == null || cache.format() != row.format() || cache.shape().rows() <= pos) {
        long cap = Math.min(config.maxSeqLen(), Math.max(16, 2L * (pos + 1)));
        Tensor grown = Tensor.zeros(row.format(), Shape.of(cap, cols));
        if (cache != null) {
          Tensor old =
              cache.format() == row.format()
                  ? cache.slice(0, pos)
                  : cache.slice(0, pos).to(row.format());
          MemorySegment.copy(old.segment(), 0, grown.segment(), 0, old.segment().byteSize());
        }
        cache = grown;
      }
      long bytes = row.segment().byteSize();
      MemorySegment.copy(row.segment(), 0, cache.segment(), pos * bytes, bytes);
      return cache;
    }

    @Override
    public int position() {
      return pos;
    }
  }
}
