package io.nanscope.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * Keeps the dependency arrows of docs/architecture.md honest for the cli module (one package, so no
 * cycle rule; the package rules of every library module are in {@link PackageRulesTest}).
 */
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
        .resideInAnyPackage(
            "jdk.incubator.vector..", "io.nanscope.engine.lanes..", "io.nanscope.engine.simd..")
        .check(CLASSES);
  }
}
