package io.nanscope.report;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.eval.EditSummary;
import io.nanscope.editing.keys.TargetValue;
import io.nanscope.editing.request.RomeRequest;
import io.nanscope.editing.rome.Rome;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Element;

/** The edit report from hand-made outcomes (the CLI test runs one real edit). */
class EditReportTest {

  static Rome.Outcome outcome(
      String subject,
      double kTu,
      boolean overridden,
      long nonFinite,
      List<TargetValue.Step> steps) {
    TargetValue.Result v = new TargetValue.Result(new float[2], new float[2], new float[2], steps);
    Rome.LayerUpdate l =
        new Rome.LayerUpdate(
            1,
            "model.layers.1.mlp.down_proj.weight",
            new float[2],
            new float[2],
            kTu,
            2.029,
            overridden,
            v,
            new float[2],
            new float[2],
            Tensor.zeros(FloatFormat.FP16, Shape.of(2, 2)),
            nonFinite);
    return new Rome.Outcome(new RomeRequest("{} likes", subject, " doll"), List.of(l));
  }

  @Test
  void stepsComeFromTheListenerAndBadEditsAreHighlighted(@TempDir Path tmp) throws Exception {
    EditReport rep = new EditReport();
    Rome.Options opts =
        rep.wrap(Rome.Options.of(PrecisionPolicy.named("fp32"), OpContext.DEFAULT), "edit");
    TargetValue.Step s0 = new TargetValue.Step(0, 3.2, 3.2, 0, 0, 0.04);
    TargetValue.Step s1 = new TargetValue.Step(1, 2.5, 2.5, 0, 0, 0.08);
    TargetValue.Step n0 =
        new TargetValue.Step(0, Double.NaN, Double.NaN, Double.NaN, 0, Double.NaN);
    assertThat(opts.listener().onStep(s0, new float[0])).isTrue();
    opts.listener().onStep(s1, new float[0]);
    rep.add(outcome("Lily", 2.029, false, 0, List.of(s0, s1)));
    opts.listener().onStep(n0, new float[0]);
    rep.add(outcome("Tom", 1e-4, true, 64, List.of(n0)));
    EditSummary pre =
        new EditSummary(
            2, 0, OptionalDouble.of(25), OptionalDouble.empty(), OptionalDouble.empty());
    EditSummary post =
        new EditSummary(
            2, 75, OptionalDouble.of(50), OptionalDouble.of(100), OptionalDouble.empty());
    Path html = tmp.resolve("edit.html");
    List<Path> files = rep.build("edit", "two edits", pre, post).write(html);

    assertThat(files).hasSize(3);
    ReportTest.assertSelfContained(html);
    ReportTest.readPng(files.get(0));
    ReportTest.readPng(files.get(1));
    var d = ReportTest.parse(html);
    assertThat(ReportTest.withClass(d, "figure", "line-chart")).hasSize(2);
    assertThat(rep.curves().loss().keySet()).containsExactly("edit #1", "edit #2");
    List<Element> rows = ReportTest.all(d, "tr");
    assertThat(rows.stream().map(Element::getTextContent))
        .anySatisfy(t -> assertThat(t).startsWith("1Lily doll1"));
    Element tom =
        rows.stream().filter(r -> r.getTextContent().startsWith("2Tom")).findFirst().orElseThrow();
    assertThat(tom.getAttribute("class")).isEqualTo("hl");
    assertThat(tom.getTextContent())
        .contains("1.000e-04 (override; computed 2.029)")
        .endsWith("64");
    assertThat(rows.stream().map(Element::getTextContent)).contains("post275.0050.00100.00-");
  }
}
