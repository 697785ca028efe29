package io.nanscope.editing;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Keeps the dependency arrows of ARCHITECTURE.md honest for the editing module. */
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
        .allowEmptyShould(true)
        .check(CLASSES);
  }

  @Test
  void packagesFormNoCycles() {
    slices().matching("io.nanscope.editing.(*)..").should().beFreeOfCycles().check(CLASSES);
  }

  @Test
  void keysAndTheSessionKnowNoAlgorithm() {
    noClasses()
        .that()
        .resideInAnyPackage("io.nanscope.editing.keys..", "io.nanscope.editing.session..",
            "io.nanscope.editing.stats..", "io.nanscope.editing.request..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.nanscope.editing.rome..", "io.nanscope.editing.memit..",
            "io.nanscope.editing.finetune..", "io.nanscope.editing.alphaedit..", "io.nanscope.editing.repro..",
            "io.nanscope.editing.run..")
        .check(CLASSES);
  }

  @Test
  void algorithmsDoNotReachIntoEvaluationOrDrivers() {
    noClasses()
        .that()
        .resideInAnyPackage("io.nanscope.editing.rome..", "io.nanscope.editing.memit..",
            "io.nanscope.editing.finetune..", "io.nanscope.editing.alphaedit..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.nanscope.editing.eval..", "io.nanscope.editing.repro..",
            "io.nanscope.editing.run..", "io.nanscope.editing.report..")
        .check(CLASSES);
  }

  @Test
  void algorithmsDoNotImportEachOther() {
    String[] algorithms = {"rome", "memit", "finetune", "alphaedit"};
    for (String a : algorithms) {
      for (String b : algorithms) {
        if (a.equals(b)) {
          continue;
        }
        noClasses()
            .that()
            .resideInAPackage("io.nanscope.editing." + a + "..")
            .should()
            .dependOnClassesThat()
            .resideInAPackage("io.nanscope.editing." + b + "..")
            .allowEmptyShould(true)
            .check(CLASSES);
      }
    }
  }
}
