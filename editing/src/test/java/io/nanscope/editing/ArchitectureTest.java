package io.nanscope.editing;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

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
