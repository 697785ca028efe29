package io.nanscope.editing.session;

import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.weights.WeightNames;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The one place where edits write weights and put them back: {@link #overwrite} keeps a copy of a
 * weight before its first write, {@link #restore} copies every saved weight back (last saved first)
 * and checks that the tensor the model's forward reads holds the saved bits exactly.
 *
 * <p>Used by the session for an edit that is evaluated and then undone, and by algorithms that
 * apply an update temporarily (ROME between the layers of a multi-layer edit).
 *
 * <p>Writable weights: {@code mlp.down_proj} of any layer ({@link LlamaModel#writableDownProj}).
 */
public final class WeightSnapshot {

  private record Saved(String weightName, int layer, Tensor copy) {}

  private final LlamaModel model;
  private final List<Saved> saved = new ArrayList<>();

  private WeightSnapshot(LlamaModel model) {
    this.model = model;
  }

  /** An empty snapshot of {@code model} (nothing saved yet). */
  public static WeightSnapshot of(LlamaModel model) {
    return new WeightSnapshot(model);
  }

  /** Saves every weight {@code update} changes, then writes the update into the model. */
  public static WeightSnapshot write(LlamaModel model, WeightUpdate update) {
    WeightSnapshot s = new WeightSnapshot(model);
    for (WeightUpdate.Change c : update.changes()) {
      s.save(c.weightName(), c.layer());
    }
    for (WeightUpdate.Change c : update.changes()) {
      copy(c.value(), writable(model, c.weightName(), c.layer()), c.weightName());
    }
    return s;
  }

  /**
   * The model's tensor of {@code weightName} at {@code layer}, writable: writes to it change the
   * model.
   *
   * @throws IllegalArgumentException for a weight nanscope cannot write yet, or a name that is not
   *     the layer's
   */
  public static Tensor writable(LlamaModel model, String weightName, int layer) {
    if (!weightName.equals(WeightNames.Layer.W_DOWN.hf(layer))) {
      throw new IllegalArgumentException(
          "cannot write "
              + weightName
              + " at layer "
              + layer
              + ": edits can write "
              + WeightNames.Layer.W_DOWN.hf(layer)
              + " (mlp.down_proj) only");
    }
    return model.writableDownProj(layer);
  }

  /** Saves the weight's current value unless it is already saved; returns the writable tensor. */
  public Tensor save(String weightName, int layer) {
    Tensor w = writable(model, weightName, layer);
    for (Saved s : saved) {
      if (s.weightName().equals(weightName)) {
        return w;
      }
    }
    saved.add(new Saved(weightName, layer, w.copy()));
    return w;
  }

  /** Saves the weight (first write only), then overwrites it with {@code value}. */
  public void overwrite(String weightName, int layer, Tensor value) {
    copy(value, save(weightName, layer), weightName);
  }

  /**
   * Puts every saved weight back, last saved first, and verifies bit for bit against what the
   * model's forward reads.
   *
   * @throws IllegalStateException if a weight does not hold its saved bits afterwards
   */
  public void restore() {
    for (int i = saved.size() - 1; i >= 0; i--) {
      Saved s = saved.get(i);
      copy(s.copy(), writable(model, s.weightName(), s.layer()), s.weightName());
    }
    for (Saved s : saved) {
      Tensor now = model.weights().get(s.layer(), WeightNames.Layer.W_DOWN);
      if (MemorySegment.mismatch(
              s.copy().segment(),
              0,
              s.copy().segment().byteSize(),
              now.segment(),
              0,
              now.segment().byteSize())
          != -1) {
        throw new IllegalStateException(
            "restoring " + s.weightName() + " did not give back the original bits");
      }
    }
    saved.clear();
  }

  /** Overwrites {@code dst} with {@code src} bit for bit (same format and shape). */
  static void copy(Tensor src, Tensor dst, String weightName) {
    if (src.format() != dst.format() || !src.shape().equals(dst.shape())) {
      throw new IllegalArgumentException(
          "cannot write "
              + weightName
              + ": the new value is "
              + src.format()
              + " "
              + src.shape()
              + ", the weight "
              + dst.format()
              + " "
              + dst.shape());
    }
    MemorySegment.copy(src.segment(), 0, dst.segment(), 0, src.segment().byteSize());
  }
}
