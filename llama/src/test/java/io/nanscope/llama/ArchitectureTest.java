package io.nanscope.llama;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Keeps the dependency arrows of docs/architecture.md honest for the llama module. */
class ArchitectureTest {

  private static final JavaClasses CLASSES =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.nanscope.llama");

  @Test
  void llamaDependsOnlyOnEngine() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.nanscope.editing..", "io.nanscope.cli..", "jdk.incubator.vector..")
        .check(CLASSES);
  }

  @Test
  void tokenizerIsIndependentOfTheModel() {
    noClasses()
        .that()
        .resideInAPackage("io.nanscope.llama.tokenizer..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.nanscope.llama.model..",
            "io.nanscope.engine.format..",
            "io.nanscope.engine.tensor..",
            "io.nanscope.engine.op..",
            "io.nanscope.engine.autograd..",
            "io.nanscope.engine.trace..",
            "io.nanscope.engine.lanes..",
            "io.nanscope.engine.simd..",
            "io.nanscope.engine.parallel..",
            "io.nanscope.engine.linalg..")
        .check(CLASSES);
  }

  @Test
  void noPackageCycles() {
    slices().matching("io.nanscope.llama.(*)..").should().beFreeOfCycles().check(CLASSES);
  }
}
