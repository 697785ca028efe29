package io.nanscope.editing.request;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.RepoPaths;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The in-domain edit set for the embedded model (configs/edits/tinystories-edits.json) is complete. */
class TinyStoriesEditsTest {

  @Test
  void everyRecordHasRephrasePortabilityAndLocality() throws IOException {
    List<EditRequest> edits = EditDatasets.knowEdit(RepoPaths.inRepo("configs/edits/tinystories-edits.json"));
    assertThat(edits).hasSize(15);
    for (EditRequest r : edits) {
      assertThat(r.prompt()).as("subject in prompt").contains(r.subject());
      assertThat(r.groundTruth()).as(r.prompt()).isPresent().get().isNotEqualTo(r.targetNew());
      assertThat(r.rephrase()).as(r.prompt()).isPresent();
      assertThat(r.portability()).as(r.prompt()).isNotEmpty();
      assertThat(r.locality().get("Relation_Specificity")).as(r.prompt()).hasSize(2);
      RomeRequest rome = r.forRome();
      assertThat(rome.promptTemplate()).contains("{}");
      assertThat(rome.targetNew()).isEqualTo(" " + r.targetNew());
      // portability answers are the new target: they test whether the edit carries over
      r.portability().values().forEach(list -> list.forEach(p -> assertThat(p.answer()).isEqualTo(r.targetNew())));
      // targets are plain lowercase words or names from the model's 512-piece vocabulary domain
      assertThat(r.targetNew()).matches("[A-Za-z]+");
    }
    assertThat(edits.stream().map(EditRequest::prompt).distinct()).hasSize(15);
  }
}
