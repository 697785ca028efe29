package io.nanscope.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Keeps the dependency arrows of ARCHITECTURE.md honest for the cli module. */
class ArchitectureTest {

  private static final JavaClasses CLASSES =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.nanscope.cli");

  @Test
  void cliDoesNotTouchKernels() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("jdk.incubator.vector..", "io.nanscope.engine.simd..")
        .allowEmptyShould(true)
        .check(CLASSES);
  }
}
