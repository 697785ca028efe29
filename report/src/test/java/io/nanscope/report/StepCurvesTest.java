package io.nanscope.report;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.keys.TargetValue;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StepCurvesTest {

  static TargetValue.Step step(int i, double loss, double prob) {
    return new TargetValue.Step(i, loss, loss, 0, 0, prob);
  }

  @Test
  void aNewRunStartsAtIterationZeroAndLabelsWithSeveralRunsAreNumbered(@TempDir Path tmp)
      throws Exception {
    StepCurves c = new StepCurves();
    int[] calls = {0};
    TargetValue.StepListener fp16 =
        c.listener("fp16", (s, d) -> ++calls[0] < 3); // the wrapped listener decides
    TargetValue.StepListener fp32 = c.listener("fp32", TargetValue.StepListener.ALWAYS);
    assertThat(fp32.onStep(step(0, 3, 0.1), new float[0])).isTrue();
    assertThat(fp16.onStep(step(0, 3, 0.1), new float[0])).isTrue();
    assertThat(fp32.onStep(step(1, 2, 0.2), new float[0])).isTrue();
    assertThat(fp16.onStep(step(1, Double.NaN, Double.NaN), new float[0])).isTrue();
    assertThat(fp16.onStep(step(2, Double.NaN, Double.NaN), new float[0])).isFalse();
    assertThat(fp32.onStep(step(0, 5, 0.01), new float[0])).isTrue(); // the next edit

    Map<String, double[]> loss = c.loss();
    assertThat(loss.keySet()).containsExactly("fp32 #1", "fp16", "fp32 #2");
    assertThat(loss.get("fp32 #1")).containsExactly(3, 2);
    assertThat(loss.get("fp16")).containsExactly(3, Double.NaN, Double.NaN);
    assertThat(loss.get("fp32 #2")).containsExactly(5);
    assertThat(c.avgProb().get("fp32 #1")).containsExactly(0.1, 0.2);
    assertThat(c.runs()).extracting(StepCurves.Run::label).containsExactly("fp32", "fp16", "fp32");

    Path html = tmp.resolve("r.html");
    List<Path> files = c.addTo(new Report("curves")).write(html);
    assertThat(files)
        .extracting(p -> p.getFileName().toString())
        .containsExactly(
            "r-01-loss-per-step.png", "r-02-avg-prob-of-the-target-per-step.png", "r.html");
    var d = ReportTest.parse(html);
    assertThat(ReportTest.withClass(d, "figure", "line-chart")).hasSize(2);
    assertThat(ReportTest.withClass(d, "path", "nonfinite"))
        .hasSize(4); // 2 NaN losses + 2 NaN probs
  }

  @Test
  void noStepsGiveASentenceNotAnEmptyPlot(@TempDir Path tmp) throws Exception {
    Path html = tmp.resolve("r.html");
    new StepCurves().addTo(new Report("none")).write(html);
    assertThat(java.nio.file.Files.readString(html))
        .contains("No ROME optimisation step was recorded.")
        .doesNotContain("<svg");
  }
}
