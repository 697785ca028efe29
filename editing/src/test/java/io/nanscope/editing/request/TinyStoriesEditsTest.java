package io.nanscope.editing.request;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.RepoPaths;
import io.nanscope.editing.keys.SubjectPositions;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The in-domain edit set for the embedded model (configs/edits/tinystories-edits.json) is complete.
 */
class TinyStoriesEditsTest {

  @Test
  void everyRecordHasRephrasePortabilityAndLocality() throws IOException {
    List<EditRequest> edits =
        EditDatasets.knowEdit(RepoPaths.inRepo("configs/edits/tinystories-edits.json"));
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
      r.portability()
          .values()
          .forEach(list -> list.forEach(p -> assertThat(p.answer()).isEqualTo(r.targetNew())));
      // targets are plain lowercase words or names from the model's 512-piece vocabulary domain
      assertThat(r.targetNew()).matches("[A-Za-z]+");
    }
    assertThat(edits.stream().map(EditRequest::prompt).distinct()).hasSize(15);
  }

  /**
   * ROME reads and writes the key at the subject's last token, and at layer 1 of this model that
   * key barely depends on the words before it: "Tom's mom" and "Lily's mom" share the key of "mom"
   * (measured overlap k·k̄/k̄·k̄ = 1.03–1.04 with scripts/editing/KeyOverlap.java; "friend"
   * 1.10–1.15, "cat" 0.99), so a locality probe holding that token tests a collision, not locality.
   * The edit set's probes never hold the edited subject's last token; the probes that did are kept,
   * as a demonstration, in configs/edits/tinystories-key-collisions.json — where every probe holds
   * it.
   */
  @Test
  void localityProbesOfTheEditSetAvoidTheKeyTokenAndTheCollisionSetHoldsIt() throws IOException {
    Tokenizer tok = Tokenizer.readFromDirectory(RepoPaths.inRepo("models/stories260K"));
    for (EditRequest r :
        EditDatasets.knowEdit(RepoPaths.inRepo("configs/edits/tinystories-edits.json"))) {
      int key = keyToken(tok, r);
      for (PromptAnswer probe : r.locality().get("Relation_Specificity")) {
        assertThat(tok.encode(probe.prompt() + " " + probe.answer(), true, false))
            .as(
                "%s: probe \"%s\" holds the key token %s",
                r.subject(), probe.prompt(), tok.piece(key))
            .doesNotContain(key);
      }
    }
    List<EditRequest> collisions =
        EditDatasets.knowEdit(RepoPaths.inRepo("configs/edits/tinystories-key-collisions.json"));
    assertThat(collisions).hasSize(4);
    for (EditRequest r : collisions) {
      int key = keyToken(tok, r);
      for (PromptAnswer probe : r.locality().get("Relation_Specificity")) {
        assertThat(tok.encode(probe.prompt(), true, false)).as(probe.prompt()).contains(key);
      }
    }
  }

  /**
   * The 100-record set written by scripts/editing/MakeEditSet.java follows its documented rule:
   * every target differs from the model's greedy word (the ground truth), portability asks for the
   * target under an alias, and no locality probe holds the edited subject's key token.
   */
  @Test
  void theGeneratedHundredRecordSetFollowsItsRule() throws IOException {
    Tokenizer tok = Tokenizer.readFromDirectory(RepoPaths.inRepo("models/stories260K"));
    List<EditRequest> edits =
        EditDatasets.knowEdit(RepoPaths.inRepo("configs/edits/tinystories-edits-100.json"));
    assertThat(edits).hasSize(100);
    assertThat(edits.stream().map(EditRequest::prompt).distinct()).hasSize(100);
    for (EditRequest r : edits) {
      assertThat(r.targetNew()).matches("[a-z]+");
      assertThat(r.groundTruth()).as(r.prompt()).isPresent().get().isNotEqualTo(r.targetNew());
      assertThat(r.rephrase()).as(r.prompt()).isPresent();
      assertThat(r.portability().get("Subject_Aliasing"))
          .singleElement()
          .satisfies(p -> assertThat(p.answer()).isEqualTo(r.targetNew()));
      int key = keyToken(tok, r);
      assertThat(r.locality().get("Relation_Specificity")).hasSize(2);
      for (PromptAnswer probe : r.locality().get("Relation_Specificity")) {
        assertThat(tok.encode(probe.prompt() + " " + probe.answer(), true, false))
            .as("%s: probe \"%s\"", r.subject(), probe.prompt())
            .doesNotContain(key);
      }
    }
  }

  private static int keyToken(Tokenizer tok, EditRequest r) {
    RomeRequest rome = r.forRome();
    int[] ids =
        tok.encode(SubjectPositions.fill(rome.promptTemplate(), rome.subject()), true, false);
    return ids[SubjectPositions.subjectLast(tok, rome.promptTemplate(), rome.subject())];
  }
}
