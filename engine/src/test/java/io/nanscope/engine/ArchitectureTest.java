package io.nanscope.engine;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Keeps the dependency arrows of ARCHITECTURE.md honest for the engine module. */
class ArchitectureTest {

  private static final JavaClasses CLASSES =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.nanscope.engine");

  @Test
  void engineDependsOnNothingAbove() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.nanscope.llama..", "io.nanscope.editing..", "io.nanscope.cli..")
        .allowEmptyShould(true)
        .check(CLASSES);
  }

  @Test
  void vectorApiOnlyInSimdAndFormatKernels() {
    noClasses()
        .that()
        .resideOutsideOfPackages("io.nanscope.engine.simd..")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("jdk.incubator.vector..")
        .allowEmptyShould(true)
        .check(CLASSES);
  }

  @Test
  void formatAndTensorHoldNoModelMath() {
    noClasses()
        .that()
        .resideInAnyPackage("io.nanscope.engine.format..", "io.nanscope.engine.tensor..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.nanscope.engine.op..", "io.nanscope.engine.autograd..", "io.nanscope.engine.trace..")
        .allowEmptyShould(true)
        .check(CLASSES);
  }

  @Test
  void tracerNeverComputesModelMath() {
    noClasses()
        .that()
        .resideInAPackage("io.nanscope.engine.trace..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.nanscope.engine.op..", "io.nanscope.engine.autograd..")
        .allowEmptyShould(true)
        .check(CLASSES);
  }
}
