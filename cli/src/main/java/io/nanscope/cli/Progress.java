package io.nanscope.cli;

import io.nanscope.editing.stats.KeySecondMoments;
import java.io.PrintWriter;
import java.util.function.Consumer;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar on stderr (me.tongfei:progressbar) with count, elapsed time and ETA. It is printed
 * as a line whenever it moved (at most once a second), not redrawn in place: the edit log streams
 * on stdout at the same time, and logs and pipes stay readable.
 */
final class Progress implements KeySecondMoments.Progress.Bar {

  private final ProgressBar bar;

  private Progress(ProgressBar bar) {
    this.bar = bar;
  }

  /** Starts a bar of {@code max} steps named {@code task}, printing to {@code err}. */
  static Progress start(String task, long max, PrintWriter err) {
    return new Progress(
        new ProgressBarBuilder()
            .setTaskName(task)
            .setInitialMax(max)
            .setStyle(ProgressBarStyle.ASCII)
            .setUpdateIntervalMillis(1000)
            .setConsumer(
                new DelegatingProgressBarConsumer(
                    new Consumer<String>() {
                      private String last = "";

                      @Override
                      public void accept(String line) {
                        String l = line.stripTrailing();
                        if (!l.equals(last)) { // closing redraws the final state once more
                          err.println(l);
                          err.flush();
                          last = l;
                        }
                      }
                    },
                    100))
            .build());
  }

  /** Moves the bar to {@code done} steps. */
  @Override
  public void stepTo(long done) {
    bar.stepTo(done);
  }

  @Override
  public void close() {
    bar.close();
  }
}
