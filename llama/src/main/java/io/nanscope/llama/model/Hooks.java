package io.nanscope.llama.model;

import io.nanscope.engine.autograd.Var;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The interventions knowledge editing needs during a {@link LlamaModel#forward} (ROME/MEMIT: Meng
 * et al. 2022 §3; EasyEdit's {@code nethook.TraceDict} on {@code layers.L.mlp.down_proj} and {@code
 * layers.L.mlp}). Positions are (row, token index) of the {@link SequenceBatch}; token index 0 is
 * the first token of the row (usually BOS).
 *
 * <p>Immutable: each method returns a new Hooks with one more entry. Captured values are read with
 * {@link SequenceOutput#captured(String)} under the keys {@link #downProjInputKey}, {@link
 * #mlpOutputKey} and {@link #residualKey}:
 *
 * <ul>
 *   <li>{@code layers.L.mlp.down_proj.input@b,t}: the input of down_proj, {@code silu(gate)·up} (F)
 *       — ROME's key k;
 *   <li>{@code layers.L.mlp@b,t}: the MLP output, down_proj's output (C), <em>before</em> any delta
 *       this Hooks adds there (EasyEdit's {@code target_init});
 *   <li>{@code layers.L@b,t}: the residual stream after layer L (C), <em>before</em> any delta this
 *       Hooks adds there (MEMIT's {@code target_init}).
 * </ul>
 */
public final class Hooks {

  /** What a hook does. */
  enum Kind {
    CAPTURE_DOWN_PROJ_INPUT,
    CAPTURE_MLP_OUTPUT,
    ADD_TO_MLP_OUTPUT,
    CAPTURE_RESIDUAL,
    ADD_TO_RESIDUAL
  }

  /** One hook: kind, layer, position and (for additions) the delta. */
  record Entry(Kind kind, int layer, int row, int pos, Var delta) {}

  private static final Hooks NONE = new Hooks(List.of());

  private final List<Entry> entries;

  private Hooks(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  /** No hooks. */
  public static Hooks none() {
    return NONE;
  }

  /**
   * Records the input of {@code layers.L.mlp.down_proj} (silu(gate)·up, F values) at (row, pos).
   */
  public Hooks captureDownProjInput(int layer, int row, int pos) {
    return with(new Entry(Kind.CAPTURE_DOWN_PROJ_INPUT, layer, row, pos, null));
  }

  /** Records the output of {@code layers.L.mlp} (down_proj output, C values) at (row, pos). */
  public Hooks captureMlpOutput(int layer, int row, int pos) {
    return with(new Entry(Kind.CAPTURE_MLP_OUTPUT, layer, row, pos, null));
  }

  /**
   * Adds {@code delta} (C) to the output of {@code layers.L.mlp} at (row, pos), as EasyEdit's
   * compute_v hook does: {@code out = out + delta.to(out.dtype)}, i.e. the delta is first rounded
   * to the MLP output's format, then the sum is rounded to it (the ADD precision of the policy).
   * Gradients flow to {@code delta} when it requires one. Several additions at the same place are
   * applied in the order given.
   */
  public Hooks addToMlpOutput(int layer, int row, int pos, Var delta) {
    Objects.requireNonNull(delta, "delta");
    return with(new Entry(Kind.ADD_TO_MLP_OUTPUT, layer, row, pos, delta));
  }

  /** Records the residual stream after layer L (C values) at (row, pos). */
  public Hooks captureResidual(int layer, int row, int pos) {
    return with(new Entry(Kind.CAPTURE_RESIDUAL, layer, row, pos, null));
  }

  /**
   * Adds {@code delta} (C) to the residual stream after layer L (the output of {@code
   * model.layers.L}) at (row, pos), as MEMIT's compute_z hook does: {@code out = out +
   * delta.to(out.dtype)} (rounded like {@link #addToMlpOutput}). Site {@code layers.L.delta}.
   */
  public Hooks addToResidual(int layer, int row, int pos, Var delta) {
    Objects.requireNonNull(delta, "delta");
    return with(new Entry(Kind.ADD_TO_RESIDUAL, layer, row, pos, delta));
  }

  /** The capture key of the down_proj input: {@code layers.L.mlp.down_proj.input@row,pos}. */
  public static String downProjInputKey(int layer, int row, int pos) {
    return "layers." + layer + ".mlp.down_proj.input@" + row + "," + pos;
  }

  /** The capture key of the MLP output: {@code layers.L.mlp@row,pos}. */
  public static String mlpOutputKey(int layer, int row, int pos) {
    return "layers." + layer + ".mlp@" + row + "," + pos;
  }

  /** The capture key of the residual stream after layer L: {@code layers.L@row,pos}. */
  public static String residualKey(int layer, int row, int pos) {
    return "layers." + layer + "@" + row + "," + pos;
  }

  static String key(Entry e) {
    return switch (e.kind()) {
      case CAPTURE_DOWN_PROJ_INPUT -> downProjInputKey(e.layer(), e.row(), e.pos());
      case CAPTURE_MLP_OUTPUT -> mlpOutputKey(e.layer(), e.row(), e.pos());
      case CAPTURE_RESIDUAL -> residualKey(e.layer(), e.row(), e.pos());
      case ADD_TO_MLP_OUTPUT, ADD_TO_RESIDUAL ->
          throw new IllegalArgumentException("an addition has no capture key");
    };
  }

  List<Entry> entries() {
    return entries;
  }

  /** The entries of {@code kind} at {@code layer}, in the order given. */
  List<Entry> at(Kind kind, int layer) {
    List<Entry> out = new ArrayList<>();
    for (Entry e : entries) {
      if (e.kind() == kind && e.layer() == layer) {
        out.add(e);
      }
    }
    return out;
  }

  private Hooks with(Entry e) {
    if (e.layer() < 0 || e.row() < 0 || e.pos() < 0) {
      throw new IllegalArgumentException(
          "hook at layer "
              + e.layer()
              + ", row "
              + e.row()
              + ", position "
              + e.pos()
              + ": all must be >= 0");
    }
    List<Entry> l = new ArrayList<>(entries);
    l.add(e);
    return new Hooks(l);
  }

  @Override
  public String toString() {
    return "Hooks" + entries;
  }
}
