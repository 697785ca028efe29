package io.nanscope.engine.autograd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Wengert list: every op recorded in forward order with a closure that computes its backward;
 * {@link #backward(Var)} walks it in reverse, accumulating dLoss/dInput into each {@link Var} that
 * {@linkplain Var#requiresGrad() requires a gradient}. An op whose inputs need no gradient is not
 * recorded at all, so ROME's delta optimisation pays nothing for the frozen weights.
 *
 * <p>Gradients are stored in each Var's gradient format (the value's own by default, like PyTorch);
 * a Var used by several ops sums their contributions in the order the tape reaches them (reverse
 * forward order), each sum rounded to that format, so backward is deterministic.
 *
 * <p>Not thread-safe: one tape per forward pass.
 */
public final class Tape {

  private record Node(String op, Var output, Var[] inputs, Backward backward) {}

  private final List<Node> nodes = new ArrayList<>();
  private final List<Var> vars = new ArrayList<>();

  /** A value no gradient flows to (inputs, frozen weights). */
  public Var constant(Tensor value, String name) {
    return track(new Var(value, false, value.format(), name));
  }

  /** A leaf that wants its gradient, stored in the value's format. */
  public Var param(Tensor value, String name) {
    return param(value, name, value.format());
  }

  /** A leaf that wants its gradient, stored in {@code gradFormat} (e.g. FP32 master gradients). */
  public Var param(Tensor value, String name, FloatFormat gradFormat) {
    return track(new Var(value, true, gradFormat, name));
  }

  private Var track(Var v) {
    vars.add(v);
    return v;
  }

  /**
   * Records an op's output. If no input requires a gradient the output is a constant and nothing is
   * recorded; otherwise {@code backward} will be called once during {@link #backward}.
   */
  public Var record(String op, Tensor output, Backward backward, Var... inputs) {
    boolean any = false;
    for (Var in : inputs) {
      any |= in.requiresGrad();
    }
    if (!any) {
      return constant(output, op);
    }
    Var out = track(new Var(output, true, output.format(), op));
    nodes.add(new Node(op, out, inputs.clone(), backward));
    return out;
  }

  /** Backward from a scalar (one-element) loss, seeded with dLoss/dLoss = 1. */
  public void backward(Var loss) {
    if (loss.value().size() != 1) {
      throw new IllegalArgumentException(
          "backward(loss) needs a one-element loss, got shape "
              + loss.value().shape()
              + ": reduce it (Sum/Mean) or pass a seed gradient");
    }
    Tensor seed = Tensor.zeros(loss.gradFormat(), loss.value().shape());
    seed.set(0, 1f);
    backward(loss, seed);
  }

  /**
   * Backward from {@code output} seeded with {@code seed} = dLoss/dOutput (a loss scale, or a
   * vector-Jacobian product). Gradients accumulate into whatever earlier backward calls left; call
   * {@link #zeroGrad()} between optimisation steps.
   */
  public void backward(Var output, Tensor seed) {
    if (!output.requiresGrad()) {
      throw new IllegalArgumentException(
          "'"
              + output.name()
              + "' does not depend on any value that requires a gradient: mark the"
              + " weights or the delta with Tape.param");
    }
    output.accumulate(seed);
    for (int i = nodes.size() - 1; i >= 0; i--) {
      Node n = nodes.get(i);
      Tensor g = n.output.grad();
      if (g == null) {
        continue; // does not reach the loss
      }
      boolean[] needs = new boolean[n.inputs.length];
      for (int j = 0; j < needs.length; j++) {
        needs[j] = n.inputs[j].requiresGrad();
      }
      Tensor[] grads = n.backward.apply(g, needs);
      if (grads.length != n.inputs.length) {
        throw new IllegalStateException(
            "backward of '"
                + n.op
                + "' returned "
                + grads.length
                + " gradients for "
                + n.inputs.length
                + " inputs");
      }
      for (int j = 0; j < grads.length; j++) {
        if (needs[j] && grads[j] != null) {
          n.inputs[j].accumulate(grads[j]);
        }
      }
    }
  }

  /** Clears every gradient (before the next optimisation step), keeping the recorded ops. */
  public void zeroGrad() {
    for (Var v : vars) {
      v.clearGrad();
    }
  }

  /** Forgets every recorded op and value (before the next forward pass). */
  public void clear() {
    nodes.clear();
    vars.clear();
  }

  /** Number of recorded ops. */
  public int size() {
    return nodes.size();
  }

  /** The recorded op names in forward order, for debugging and tests. */
  public List<String> ops() {
    return nodes.stream().map(Node::op).toList();
  }

  /** A one-element FP32 tensor, handy for seeds and scalar constants. */
  public static Tensor scalar(float v) {
    return Tensor.of(FloatFormat.FP32, Shape.of(), v);
  }

  @Override
  public String toString() {
    return "Tape" + Arrays.toString(ops().toArray());
  }
}
