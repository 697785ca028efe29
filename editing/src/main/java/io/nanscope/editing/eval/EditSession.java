package io.nanscope.editing.eval;

import io.nanscope.editing.request.EditRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * EasyEdit's BaseEditor.edit_requests loop: metrics of the unedited model for every record first,
 * then for each record: edit, evaluate the edited model, and — in single-edit mode — restore the
 * weights (verified bit-identical) before the next record. In sequential mode every edit stays.
 */
public final class EditSession {

  private EditSession() {}

  /** Applies one edit to the model. */
  @FunctionalInterface
  public interface Editor {
    /** Edits the model for {@code request}; the returned handle undoes it. */
    Applied apply(EditRequest request, int index);
  }

  /** An applied edit. */
  public interface Applied {
    /** Puts back the weights as they were before the edit, bit for bit (throws if it cannot). */
    void restore();
  }

  /** Called after each record with its index. */
  public static List<EditResult> run(
      List<EditRequest> records, Evaluator evaluator, Editor editor, boolean sequential,
      IntConsumer progress) {
    List<Evaluator.Evaluated> pre = new ArrayList<>();
    for (EditRequest r : records) {
      pre.add(evaluator.evaluate(r, null));
    }
    List<EditResult> results = new ArrayList<>();
    for (int i = 0; i < records.size(); i++) {
      EditRequest r = records.get(i);
      long t0 = System.nanoTime();
      Applied applied = editor.apply(r, i);
      double seconds = (System.nanoTime() - t0) / 1e9;
      Map<String, List<int[]>> preIds = pre.get(i).localityIds();
      Evaluator.Evaluated post;
      try {
        post = evaluator.evaluate(r, preIds);
      } finally {
        if (!sequential) {
          applied.restore();
        }
      }
      results.add(new EditResult(i, r, seconds, pre.get(i).metrics(), post.metrics()));
      progress.accept(i);
    }
    return results;
  }
}
