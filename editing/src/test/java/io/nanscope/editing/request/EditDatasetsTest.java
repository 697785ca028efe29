package io.nanscope.editing.request;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.editing.RepoPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Readers on the real files of ../shared/data (PROVENANCE.md there gives their record counts). */
class EditDatasetsTest {

  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** The four documented KnowEdit example records (one per subset), as a JSON array text. */
  private static String knowEditExamples(String... subsets) throws IOException {
    JsonNode records =
        JSON.readTree(Files.readString(RepoPaths.sharedData("knowedit/knowedit_examples.json")))
            .get("records");
    var array = JSON.createArrayNode();
    for (String s : subsets) {
      array.add(records.get(s));
    }
    return JSON.writeValueAsString(array);
  }

  @Test
  void knowEditWikiRecentTakesFirstAliasOfNestedLists() throws IOException {
    EditRequest r = EditDatasets.knowEdit("examples", knowEditExamples("wiki_recent")).get(0);
    assertThat(r.subject()).isEqualTo("Leo Arons");
    assertThat(r.prompt()).isEqualTo("The place of death of Leo Arons is");
    assertThat(r.targetNew()).isEqualTo("Berlin");
    assertThat(r.groundTruth()).isEmpty();
    assertThat(r.rephrase()).isEmpty();
    assertThat(r.portability().keySet())
        .containsExactly("Logical_Generalization", "Reasoning", "Subject_Aliasing");
    assertThat(r.portability().get("Logical_Generalization").get(0).answer()).isEqualTo("no");
    List<PromptAnswer> reasoning = r.portability().get("Reasoning");
    assertThat(reasoning).hasSize(2);
    assertThat(reasoning.get(0).answer()).isEqualTo("Kai Wegner");
    assertThat(reasoning.get(0).answers()).containsExactly("Kai Wegner", "Kai Peter Wegner");
    assertThat(reasoning.get(1).answer()).isEqualTo("Europe");
    assertThat(r.portability().get("Subject_Aliasing").get(0).answers())
        .hasSize(4)
        .first()
        .isEqualTo("Berlin");
    assertThat(r.locality().get("Relation_Specificity"))
        .extracting(PromptAnswer::prompt, PromptAnswer::answer)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                "The name of the father of Leo Arons is", "Albert Arons"),
            org.assertj.core.groups.Tuple.tuple(
                "The name of the field of work of Leo Arons is", "experimental physics"));
  }

  @Test
  void knowEditOtherSubsetsMapLikeKnowEditDataset() throws IOException {
    List<EditRequest> rs =
        EditDatasets.knowEdit("examples", knowEditExamples("wiki_counterfact", "zsre", "wikibio"));
    EditRequest cf = rs.get(0);
    assertThat(cf.groundTruth()).contains("mayor of Vienna");
    assertThat(cf.locality().get("Forgetfulness").get(0).answer()).isEqualTo("mayor of Vienna");
    assertThat(cf.portability().get("Subject_Aliasing").get(0).answer())
        .isEqualTo("Archbishop of León, Mexico");
    EditRequest zsre = rs.get(1);
    assertThat(zsre.groundTruth()).contains("Aspidoceratidae");
    assertThat(zsre.rephrase()).contains("What family are Epaspidoceras?");
    assertThat(zsre.portability().get("Reasoning").get(0).answer()).isEqualTo("Owlet moths");
    EditRequest bio = rs.get(2);
    assertThat(bio.subject()).isEqualTo("john russell reynolds");
    assertThat(bio.prompt()).startsWith("This is a Wikipedia passage about john russell reynolds.");
    assertThat(bio.targetNew()).startsWith("He received general education");
    assertThat(bio.locality().get("Relation_Specificity")).hasSize(2);
  }

  @Test
  void counterFactEditFile() throws IOException {
    List<EditRequest> rs =
        EditDatasets.counterFact(RepoPaths.sharedData("easyedit/counterfact-edit.json"));
    assertThat(rs).hasSize(10000);
    EditRequest first = rs.get(0);
    assertThat(first.subject()).isEqualTo("Danielle Darrieux");
    assertThat(first.prompt()).isEqualTo("The mother tongue of Danielle Darrieux is");
    assertThat(first.targetNew()).isEqualTo("English");
    assertThat(first.groundTruth()).contains("French");
    assertThat(first.rephrase())
        .contains("Where Danielle Darrieux is from, people speak the language of");
    assertThat(first.locality().get(EditDatasets.NEIGHBORHOOD))
        .containsExactly(new PromptAnswer("Michel Rocard is a native speaker of", "French"));
    EditRequest last = rs.get(9999);
    assertThat(last.prompt()).isEqualTo("Subair works as");
    assertThat(last.targetNew()).isEqualTo("composer");
    assertThat(EditDatasets.counterFact(RepoPaths.sharedData("easyedit/counterfact-val.json")))
        .hasSize(1919);
  }

  @Test
  void zsreMendFile() throws IOException {
    List<EditRequest> rs =
        EditDatasets.zsre(RepoPaths.sharedData("easyedit/zsre_mend_train-1k.json"));
    assertThat(rs).hasSize(1000);
    EditRequest first = rs.get(0);
    assertThat(first.subject()).isEqualTo("UniFirst");
    assertThat(first.prompt()).isEqualTo("What is the product made by UniFirst?");
    assertThat(first.targetNew()).isEqualTo("unmanned aircraft");
    assertThat(first.groundTruth()).contains("uniform");
    assertThat(first.rephrase()).contains("What will be the product of UniFirst?");
    assertThat(first.locality().get(EditDatasets.NEIGHBORHOOD).get(0))
        .isEqualTo(
            new PromptAnswer(
                "nq question: john goodman's character in the big lebowski", "Walter Sobchak"));
    assertThat(rs.get(999).groundTruth()).contains("Hasbro Interactive");
    // two records of the real file have an empty new target; they are read, not rejected
    assertThat(rs.stream().filter(r -> r.targetNew().isEmpty()).count()).isEqualTo(2);
    assertThat(rs.get(534).forRome().targetNew()).isEqualTo(" ");
  }

  @Test
  void known1000File() throws IOException {
    List<KnownFact> facts = EditDatasets.known1000(RepoPaths.sharedData("rome/known_1000.json"));
    assertThat(facts).hasSize(1209);
    assertThat(facts.get(0))
        .isEqualTo(
            new KnownFact(
                0,
                "Vinson Massif",
                "Antarctica",
                "{} is located in the continent",
                "Vinson Massif is located in the continent of",
                " of Antarctica. It is the largest of the three",
                "P30"));
    EditRequest r = facts.get(1208).toRequest("NBC");
    assertThat(r.groundTruth()).contains("HBO");
    assertThat(r.forRome().promptTemplate()).isEqualTo("{} premieres on");
  }

  @Test
  void everyCounterFactAndZsreRecordSurvivesRomePreprocessing() throws IOException {
    for (EditRequest r :
        EditDatasets.counterFact(RepoPaths.sharedData("easyedit/counterfact-edit.json"))) {
      RomeRequest rr = r.forRome();
      assertThat(rr.promptTemplate()).contains("{}");
      assertThat(rr.prompt()).isEqualTo(r.prompt());
      assertThat(rr.targetNew()).isEqualTo(" " + r.targetNew());
    }
    for (EditRequest r :
        EditDatasets.zsre(RepoPaths.sharedData("easyedit/zsre_mend_train-1k.json"))) {
      assertThat(r.forRome().prompt()).isEqualTo(r.prompt());
    }
  }

  @Test
  void romePreprocessingFollowsEasyEdit() {
    RomeRequest r =
        EditRequest.of("Danielle Darrieux", "The mother tongue of Danielle Darrieux is", "English")
            .forRome();
    assertThat(r.promptTemplate()).isEqualTo("The mother tongue of {} is");
    assertThat(r.targetNew()).isEqualTo(" English");
    assertThat(r.logLine())
        .isEqualTo(
            "Executing ROME algorithm for the update: [The mother tongue of Danielle Darrieux is] -> [ English]");
    // Python's str.replace replaces every occurrence
    assertThat(EditRequest.of("Tom", "Tom said Tom was", "sad").forRome().promptTemplate())
        .isEqualTo("{} said {} was");
    // a prompt that already has {} is kept; a target of exactly " " gets no second space
    RomeRequest kept = EditRequest.of("Lily", "{}'s toy is a", " ").forRome();
    assertThat(kept.promptTemplate()).isEqualTo("{}'s toy is a");
    assertThat(kept.targetNew()).isEqualTo(" ");
    // EasyEdit prepends even when the target already starts with a space
    assertThat(EditRequest.of("Lily", "{} is", " x").forRome().targetNew()).isEqualTo("  x");
    assertThat(EditRequest.of("Lily", "{} has a", "cat").filledPrompt()).isEqualTo("Lily has a");
    assertThatThrownBy(() -> EditRequest.of(" ", "x", "y"))
        .hasMessageContaining("'subject' is missing or blank");
    assertThatThrownBy(() -> EditRequest.of("Ben", "Lily likes", "cats").forRome())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"Ben\" does not occur in prompt \"Lily likes\"");
  }

  @Test
  void malformedRecordsAreNamed() {
    assertThatThrownBy(
            () -> EditDatasets.knowEdit("x.json", "[{\"subject\": \"A\", \"prompt\": \"A is\"}]"))
        .hasMessageContaining("x.json record 0: field 'target_new' is missing");
    assertThatThrownBy(() -> EditDatasets.knowEdit("x.json", "{\"subject\": \"A\"}"))
        .hasMessageContaining("x.json: expected a JSON array");
    assertThatThrownBy(() -> EditDatasets.knowEdit("x.json", "[{]"))
        .hasMessageContaining("x.json: not valid JSON");
    assertThatThrownBy(() ->
            EditDatasets.knowEdit(
                "x.json",
                "[{\"subject\": \"A\", \"prompt\": \"A is\", \"target_new\": \"b\", \"locality\": {\"R\": [{\"ground_truth\": \"c\"}]}}]"))
        .hasMessageContaining("field 'locality.R' has an item without a string 'prompt'");
    assertThatThrownBy(() ->
            EditDatasets.knowEdit(
                "x.json", "[{\"subject\": \"A\", \"prompt\": \"A is\", \"target_new\": 3}]"))
        .hasMessageContaining("field 'target_new' should be a string");
  }

  @Test
  void blankProbeAnswersAreSkippedAsInRunKnowEdit() {
    EditRequest r =
        EditDatasets.knowEdit(
                "x.json",
                "[{\"subject\": \"A\", \"prompt\": \"A is\", \"target_new\": \"b\", \"portability\": "
                    + "{\"Reasoning\": [{\"prompt\": \"p1\", \"ground_truth\": [[\"\"]]}, {\"prompt\": \"p2\", \"ground_truth\": \"q\"}],"
                    + " \"Subject_Aliasing\": [{\"prompt\": \"p3\", \"ground_truth\": \"\"}]}}]")
            .get(0);
    assertThat(r.portability())
        .isEqualTo(Map.of("Reasoning", List.of(new PromptAnswer("p2", "q"))));
    assertThat(r.groundTruth()).isEqualTo(Optional.empty());
  }

  @Test
  void missingFileNamesThePath() {
    Path nowhere = Path.of("no/such/file.json");
    assertThatThrownBy(() -> EditDatasets.counterFact(nowhere))
        .hasMessageContaining("no/such/file.json");
  }
}
