package io.nanscope.editing.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.PromptAnswer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class EditSummaryTest {

  private static final EditRequest LILY =
      new EditRequest(
          "Lily",
          "Lily's favorite toy is a",
          "ball",
          Optional.of("doll"),
          Optional.of("The toy Lily loves most is a"),
          Map.of("Reasoning", List.of(new PromptAnswer("Lily plays with her", "ball"))),
          Map.of(
              "Relation_Specificity", List.of(new PromptAnswer("Tom's favorite toy is a", "car"))));

  private static Map<String, List<Double>> of(
      String k1, List<Double> v1, String k2, List<Double> v2) {
    Map<String, List<Double>> m = new LinkedHashMap<>();
    m.put(k1, v1);
    m.put(k2, v2);
    return m;
  }

  /** Two records, values chosen so every mean is easy to do by hand. */
  static List<EditResult> results() {
    EditMetrics pre1 =
        new EditMetrics(
            List.of(0.0),
            Optional.of(List.of(0.5)),
            Map.of("Reasoning", List.of(0.5)),
            Map.of(),
            OptionalDouble.of(5.0));
    EditMetrics post1 =
        new EditMetrics(
            List.of(1.0),
            Optional.of(List.of(1.0)),
            of("Reasoning", List.of(1.0, 0.0), "Subject_Aliasing", List.of(1.0)),
            Map.of("Relation_Specificity", List.of(0.5, 1.0)),
            OptionalDouble.of(4.0));
    EditMetrics pre2 =
        new EditMetrics(List.of(0.5), Optional.empty(), Map.of(), Map.of(), OptionalDouble.of(6.0));
    EditMetrics post2 =
        new EditMetrics(
            List.of(0.5),
            Optional.empty(),
            Map.of(),
            of("Relation_Specificity", List.of(1.0), "Forgetfulness", List.of(0.0)),
            OptionalDouble.of(5.0));
    return List.of(
        new EditResult(0, LILY, 1.5, pre1, post1), new EditResult(1, LILY, 2.0, pre2, post2));
  }

  @Test
  void summaryFollowsEasyEditsAggregation() {
    EditSummary post = EditSummary.of(results(), false);
    assertThat(post.records()).isEqualTo(2);
    assertThat(post.editSucc()).isCloseTo(75.0, within(1e-12)); // (1 + 0.5)/2
    // record 1: keys Reasoning 0.5, Subject_Aliasing 1 -> 0.75; record 2 has none -> skipped
    assertThat(post.portability().getAsDouble()).isCloseTo(75.0, within(1e-12));
    // record 1: 0.75; record 2: (1 + 0)/2 = 0.5 -> 0.625
    assertThat(post.locality().getAsDouble()).isCloseTo(62.5, within(1e-12));
    assertThat(post.fluency().getAsDouble()).isCloseTo(450.0, within(1e-12));
    EditSummary pre = EditSummary.of(results(), true);
    assertThat(pre.editSucc()).isCloseTo(25.0, within(1e-12));
    assertThat(pre.portability().getAsDouble()).isCloseTo(50.0, within(1e-12));
    assertThat(pre.locality()).isEmpty();
    assertThat(EditSummary.table(pre, post))
        .isEqualTo(
            "        Edit Succ.  Portability  Locality  Fluency\n"
                    .replace("\n", System.lineSeparator())
                + ("pre          25.00        50.00         -   550.00\n"
                        + "post         75.00        75.00     62.50   450.00\n")
                    .replace("\n", System.lineSeparator()));
  }

  @Test
  void resultHasEasyEditsShape() {
    Map<String, Object> m = results().get(0).toMap();
    assertThat(m.keySet()).containsExactly("case_id", "requested_rewrite", "time", "post", "pre");
    @SuppressWarnings("unchecked")
    Map<String, Object> post = (Map<String, Object>) m.get("post");
    assertThat(post.keySet())
        .containsExactly("rewrite_acc", "rephrase_acc", "locality", "portability", "fluency");
    assertThat(post.get("portability"))
        .isEqualTo(
            Map.of("Reasoning_acc", List.of(1.0, 0.0), "Subject_Aliasing_acc", List.of(1.0)));
    assertThat(post.get("locality"))
        .isEqualTo(Map.of("Relation_Specificity_acc", List.of(0.5, 1.0)));
    assertThat(post.get("fluency")).isEqualTo(Map.of("ngram_entropy", 4.0));
    @SuppressWarnings("unchecked")
    Map<String, Object> req = (Map<String, Object>) m.get("requested_rewrite");
    assertThat(req.get("prompt")).isEqualTo("Lily's favorite toy is a");
    assertThat(req.get("target_new")).isEqualTo("ball");
    assertThat(req.get("ground_truth")).isEqualTo("doll");
    assertThat(req.get("locality"))
        .isEqualTo(
            Map.of(
                "Relation_Specificity",
                Map.of(
                    "prompt", List.of("Tom's favorite toy is a"), "ground_truth", List.of("car"))));
    @SuppressWarnings("unchecked")
    Map<String, Object> pre2 = (Map<String, Object>) results().get(1).toMap().get("pre");
    assertThat(pre2).doesNotContainKey("rephrase_acc");
  }
}
