package io.nanscope.report;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.trace.PromptTrace;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The HTML table's markers are the console table's, and mark the tightest rows. */
class TraceReportTest {

  static final Path MODEL = RepoPaths.inRepo("models/stories260K");
  static final String PROMPT = "Once upon a time, there was a little girl named Lily.";

  @Test
  void marksAreTheFiveTightestAndNoOverflow() throws IOException {
    PrecisionPolicy p = PrecisionPolicy.named("pytorch-fp16");
    LlamaModel m = LlamaModel.load(MODEL, p.storage());
    int[] ids = Tokenizer.readFromDirectory(MODEL).encode(PROMPT, true, false);
    PromptTrace.Result r = PromptTrace.run(m, ids, p, 1, true);

    List<String> marks = TraceReport.marks(r.rows(), FloatFormat.FP16, 5);
    assertThat(marks.stream().filter(s -> s.startsWith("<"))).hasSize(5);
    assertThat(marks).doesNotContain("!!");
    SiteStats tightest = r.rows().get(marks.indexOf("<1"));
    assertThat(tightest)
        .isEqualTo(
            r.rows().stream()
                .min(Comparator.comparingDouble(s -> s.output().headroomIn(FloatFormat.FP16)))
                .orElseThrow());
  }
}
