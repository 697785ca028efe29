package io.nanscope.editing.session;

import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.request.EditRequest;
import java.util.List;

/**
 * An editing algorithm (ROME, MEMIT, FT, …): computes the weights a batch of edit requests gives,
 * without writing them. {@link EditSession} writes, evaluates and restores; {@link
 * PrecisionFallback} can drop an update and recompute it in another precision because nothing was
 * written yet.
 *
 * <p>The model, tokenizer, hyperparameters and anything prepared once (context templates, key
 * statistics) belong to the implementation; what changes per call (precision, tracer, log, step
 * listener) comes in the {@link EditContext}.
 */
public interface Editor {

  /** EasyEdit's {@code alg_name}, e.g. {@code ROME}. */
  String algorithm();

  /**
   * The update of {@code batch} on the model as it is now; the model must be left bit for bit as it
   * was (an algorithm that applies updates temporarily between layers undoes them before
   * returning).
   *
   * @throws IllegalArgumentException when the algorithm cannot edit a batch of this size
   */
  WeightUpdate compute(List<EditRequest> batch, EditContext ctx);

  /**
   * Called once the session has written {@code update} into the model (EasyEdit's algorithms log a
   * line there); not called for a refused update.
   */
  default void written(WeightUpdate update, EditLog log) {}
}
