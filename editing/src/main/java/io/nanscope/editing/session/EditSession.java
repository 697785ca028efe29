package io.nanscope.editing.session;

import io.nanscope.editing.eval.EditResult;
import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.llama.model.LlamaModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * The edit loop of EasyEdit's BaseEditor (edit_requests / batch_edit), once for every algorithm and
 * every driver ({@code nanscope edit}, the reproduction, the stress scenario): pre-edit metrics of
 * every record first (when asked), then for each batch of records: compute the update ({@link
 * Editor#compute}, nothing written), write it (unless refused), evaluate the edited model, and — in
 * single-edit mode — restore the weights, verified bit for bit ({@link WeightSnapshot}), before the
 * next batch. In sequential mode every edit stays.
 *
 * <p>Batch size 1 is single or sequential editing; a larger batch edits several records in one
 * update (MEMIT-style batch editing), and each record of the batch is evaluated on it.
 */
public final class EditSession {

  private EditSession() {}

  /**
   * What to run.
   *
   * @param records the requests, edited in order
   * @param batchSize requests per update (1 for ROME)
   * @param keep sequential editing: keep every edit; false restores after each batch's evaluation
   * @param preMetrics whether to evaluate every record on the unedited model first
   */
  public record Plan(List<EditRequest> records, int batchSize, boolean keep, boolean preMetrics) {
    public Plan {
      records = List.copyOf(records);
      if (batchSize < 1) {
        throw new IllegalArgumentException("the batch size must be at least 1, got " + batchSize);
      }
    }
  }

  /**
   * One computed edit, as the session handled it.
   *
   * @param edit index of the batch (the edit) in the session
   * @param first index of the batch's first record in the plan
   * @param update the algorithm's update (with the fallback's verdict)
   * @param written whether it was written into the model
   * @param seconds wall time of computing and writing it
   */
  public record Applied(
      int edit,
      int first,
      List<EditRequest> batch,
      WeightUpdate update,
      boolean written,
      double seconds) {}

  /** What a driver does around each step of the loop; {@code R} is what it records per edit. */
  public interface Hooks<R> {

    /**
     * Metrics of record {@code index} on the unedited model (only with {@link Plan#preMetrics}).
     */
    default Evaluator.Evaluated pre(int index, EditRequest record) {
      throw new UnsupportedOperationException("this session does not evaluate before editing");
    }

    /** After every pre-edit evaluation, before the first edit. */
    default void afterPre() {}

    /** Before edit {@code edit} is computed. */
    default void beforeEdit(int edit) {}

    /** The context of edit {@code edit} ({@code base} already carries the index). */
    default EditContext context(int edit, EditContext base) {
      return base;
    }

    /** After the update is computed, before it is written. */
    default void beforeWrite(int edit, WeightUpdate update) {}

    /**
     * With the update written (or refused): evaluates the edited model. The weights are restored
     * after this returns or throws (single-edit mode).
     *
     * @param pre the pre-edit metrics of the batch's records (empty without pre metrics)
     */
    R after(Applied applied, List<Evaluator.Evaluated> pre);

    /** Whether to stop after this edit. */
    default boolean stop(R result) {
      return false;
    }
  }

  /** Runs the plan; returns what {@link Hooks#after} recorded, one per edit. */
  public static <R> List<R> run(
      LlamaModel model, Editor editor, EditContext base, Plan plan, Hooks<R> hooks) {
    List<EditRequest> records = plan.records();
    List<Evaluator.Evaluated> pre = new ArrayList<>();
    if (plan.preMetrics()) {
      for (int i = 0; i < records.size(); i++) {
        pre.add(hooks.pre(i, records.get(i)));
      }
      hooks.afterPre();
    }
    List<R> results = new ArrayList<>();
    for (int first = 0, edit = 0; first < records.size(); first += plan.batchSize(), edit++) {
      int end = Math.min(first + plan.batchSize(), records.size());
      List<EditRequest> batch = records.subList(first, end);
      hooks.beforeEdit(edit);
      EditContext ctx = hooks.context(edit, base.withEdit(edit));
      long t0 = System.nanoTime();
      WeightUpdate update = editor.compute(batch, ctx);
      hooks.beforeWrite(edit, update);
      WeightSnapshot snapshot = null;
      if (!update.refused()) {
        snapshot = WeightSnapshot.write(model, update);
        editor.written(update, ctx.log());
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      R r;
      try {
        r =
            hooks.after(
                new Applied(edit, first, batch, update, snapshot != null, seconds),
                plan.preMetrics() ? pre.subList(first, end) : List.of());
      } finally {
        if (!plan.keep() && snapshot != null) {
          snapshot.restore();
        }
      }
      results.add(r);
      if (hooks.stop(r)) {
        break;
      }
    }
    return results;
  }

  /**
   * EasyEdit's edit with metrics: pre- and post-edit metrics of every record by {@code evaluator}
   * (post-edit locality against the pre-edit argmax ids), one {@link EditResult} per record.
   *
   * @param onUpdate sees every update before it is written (reports)
   * @param progress called with each finished record's index
   */
  public static List<EditResult> evaluate(
      LlamaModel model,
      Editor editor,
      EditContext ctx,
      Plan plan,
      Evaluator evaluator,
      Consumer<WeightUpdate> onUpdate,
      IntConsumer progress) {
    if (!plan.preMetrics()) {
      throw new IllegalArgumentException(
          "an evaluated session needs pre-edit metrics (Plan.preMetrics)");
    }
    List<List<EditResult>> perEdit =
        run(
            model,
            editor,
            ctx,
            plan,
            new Hooks<>() {
              @Override
              public Evaluator.Evaluated pre(int index, EditRequest record) {
                return evaluator.evaluate(record, null);
              }

              @Override
              public void beforeWrite(int edit, WeightUpdate update) {
                onUpdate.accept(update);
              }

              @Override
              public List<EditResult> after(Applied a, List<Evaluator.Evaluated> pre) {
                List<EditResult> out = new ArrayList<>();
                for (int k = 0; k < a.batch().size(); k++) {
                  EditRequest r = a.batch().get(k);
                  Map<String, List<int[]>> preIds = pre.get(k).localityIds();
                  Evaluator.Evaluated post = evaluator.evaluate(r, preIds);
                  out.add(
                      new EditResult(
                          a.first() + k, r, a.seconds(), pre.get(k).metrics(), post.metrics()));
                  progress.accept(a.first() + k);
                }
                return out;
              }
            });
    return perEdit.stream().flatMap(List::stream).toList();
  }

  /**
   * EasyEdit's {@code sequential_edit=True}: every record evaluated on the unedited model, then
   * every update computed and written in order (none restored), then every record evaluated once on
   * the model that holds all of them (locality against the pre-edit argmax ids). This is the
   * protocol of sequential-editing papers (AlphaEdit: 2,000 edits, then the metrics); {@link
   * #evaluate} with {@code keep} evaluates each record right after its own edit instead.
   *
   * @param onUpdate sees every update before it is written (reports)
   * @param progress called with each edited record's index, then each evaluated one's
   */
  public static List<EditResult> evaluateAfterAll(
      LlamaModel model,
      Editor editor,
      EditContext ctx,
      List<EditRequest> records,
      int batchSize,
      Evaluator evaluator,
      Consumer<WeightUpdate> onUpdate,
      IntConsumer progress) {
    List<Evaluator.Evaluated> pre = new ArrayList<>();
    for (EditRequest r : records) {
      pre.add(evaluator.evaluate(r, null));
    }
    double[] seconds = new double[records.size()];
    run(
        model,
        editor,
        ctx,
        new Plan(records, batchSize, true, false),
        new Hooks<Applied>() {
          @Override
          public void beforeWrite(int edit, WeightUpdate update) {
            onUpdate.accept(update);
          }

          @Override
          public Applied after(Applied a, List<Evaluator.Evaluated> unused) {
            for (int k = 0; k < a.batch().size(); k++) {
              seconds[a.first() + k] = a.seconds();
              progress.accept(a.first() + k);
            }
            return a;
          }
        });
    List<EditResult> out = new ArrayList<>();
    for (int i = 0; i < records.size(); i++) {
      Evaluator.Evaluated post = evaluator.evaluate(records.get(i), pre.get(i).localityIds());
      out.add(new EditResult(i, records.get(i), seconds[i], pre.get(i).metrics(), post.metrics()));
    }
    return out;
  }
}
