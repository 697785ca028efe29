package io.nanscope.editing;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Keeps the dependency arrows of docs/architecture.md honest for the editing module. */
class ArchitectureTest {

  private static final JavaClasses CLASSES =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.nanscope.editing");

  @Test
  void editingDoesNotReachUp() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.nanscope.cli..", "jdk.incubator.vector..")
        .check(CLASSES);
  }

  /**
   * The editing packages every algorithm may build on; every other editing package is an editing
   * algorithm (rome today; memit, ft, alphaedit as they come) and imports no other algorithm.
   */
  static final List<String> SHARED =
      List.of("request", "hparams", "keys", "stats", "eval", "repro", "session");

  static List<String> algorithms() {
    return CLASSES.stream()
        .map(c -> c.getPackageName())
        .filter(p -> p.startsWith("io.nanscope.editing."))
        .map(p -> p.substring("io.nanscope.editing.".length()).split("\\.")[0])
        .filter(p -> !SHARED.contains(p))
        .distinct()
        .sorted()
        .toList();
  }

  @Test
  void keysAndTheSessionKnowNoAlgorithm() {
    noClasses()
        .that()
        .resideInAnyPackage(
            "io.nanscope.editing.keys..",
            "io.nanscope.editing.session..",
            "io.nanscope.editing.stats..",
            "io.nanscope.editing.request..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.nanscope.editing.rome..",
            "io.nanscope.editing.memit..",
            "io.nanscope.editing.finetune..",
            "io.nanscope.editing.alphaedit..",
            "io.nanscope.editing.repro..")
        .check(CLASSES);
  }

  @Test
  void algorithmsDoNotReachIntoEvaluationOrDrivers() {
    noClasses()
        .that()
        .resideInAnyPackage(
            "io.nanscope.editing.rome..",
            "io.nanscope.editing.memit..",
            "io.nanscope.editing.finetune..",
            "io.nanscope.editing.alphaedit..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.nanscope.editing.eval..", "io.nanscope.editing.repro..")
        .check(CLASSES);
  }

  @Test
  void algorithmsDoNotImportEachOther() {
    List<String> algorithms = algorithms();
    // not vacuous: the rule checks the algorithm packages that exist, and the packages the two
    // rules above name are these
    assertThat(algorithms).contains("alphaedit", "finetune", "memit", "rome");
    for (String a : algorithms) {
      List<String> others =
          algorithms.stream()
              .filter(b -> !b.equals(a))
              .map(b -> "io.nanscope.editing." + b + "..")
              .toList();
      if (others.isEmpty()) {
        continue;
      }
      noClasses()
          .that()
          .resideInAPackage("io.nanscope.editing." + a + "..")
          .should()
          .dependOnClassesThat()
          .resideInAnyPackage(others.toArray(String[]::new))
          .check(CLASSES);
    }
    // Nor may a shared package import an algorithm (repro, the orchestrator, excepted).
    noClasses()
        .that()
        .resideInAnyPackage(
            SHARED.stream()
                .filter(p -> !p.equals("repro"))
                .map(p -> "io.nanscope.editing." + p + "..")
                .toArray(String[]::new))
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            algorithms.stream().map(p -> "io.nanscope.editing." + p + "..").toArray(String[]::new))
        .check(CLASSES);
  }

  @Test
  void noPackageCycles() {
    slices().matching("io.nanscope.editing.(*)..").should().beFreeOfCycles().check(CLASSES);
  }
}
