package io.nanscope.editing.session;

import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.weights.WeightNames;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A test algorithm: adds {@code batch size} to entry 0 of layer 1's W_down (as the model holds it
 * now), and writes {@code value} there instead when the policy stores in {@code nanIn} (a stand-in
 * for an update that overflows in one precision). It runs {@code steps} optimisation steps whose
 * loss is NaN in {@code nanIn}, and records what it saw.
 */
final class FakeEditor implements Editor {

  static final int LAYER = 1;
  static final String WEIGHT = WeightNames.Layer.W_DOWN.hf(LAYER);

  private final LlamaModel model;
  private final FloatFormat nanIn;
  private final int steps;
  final List<String> calls = new ArrayList<>();

  /** entry 0 of W_down as each compute saw it */
  final List<Double> seen = new ArrayList<>();

  /** steps each compute ran (the fallback stops a NaN optimisation early) */
  final List<Integer> stepsRun = new ArrayList<>();

  FakeEditor(LlamaModel model, FloatFormat nanIn, int steps) {
    this.model = model;
    this.nanIn = nanIn;
    this.steps = steps;
  }

  @Override
  public String algorithm() {
    return "FAKE";
  }

  @Override
  public WeightUpdate compute(List<EditRequest> batch, EditContext ctx) {
    boolean nan = ctx.policy().storage() == nanIn;
    calls.add("compute " + ctx.edit() + " " + ctx.policy().name() + " batch " + batch.size());
    int ran = 0;
    for (int it = 0; it < steps; it++) {
      ran++;
      double loss = nan ? Double.NaN : 1.0 / (it + 1);
      if (!ctx.steps().onStep(new TargetValue.Step(it, loss, loss, 0, 0, 0.5), new float[] {0f})) {
        break;
      }
    }
    stepsRun.add(ran);
    Tensor w = model.weights().get(LAYER, WeightNames.Layer.W_DOWN);
    seen.add(w.getDouble(0));
    Tensor updated = w.copy();
    updated.setDouble(0, nan ? Double.POSITIVE_INFINITY : w.getDouble(0) + batch.size());
    return WeightUpdate.of(
        algorithm(),
        batch,
        ctx.policy(),
        List.of(new WeightUpdate.Change(WEIGHT, LAYER, updated)),
        Optional.empty(),
        "detail");
  }

  @Override
  public void written(WeightUpdate update, EditLog log) {
    calls.add("written " + update.batch().size());
    log.line("written");
  }
}
