package io.nanscope.engine;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Keeps the dependency arrows of docs/architecture.md honest for the engine module. */
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
        .check(CLASSES);
  }

  /**
   * The Vector API lives in engine.simd only (engine.format reaches it through simd's rounding
   * kernels). The other modules forbid it in their own ArchitectureTest; bench may use it.
   */
  @Test
  void vectorApiOnlyInSimd() {
    noClasses()
        .that()
        .resideOutsideOfPackage("io.nanscope.engine.simd")
        .should()
        .dependOnClassesThat()
        .resideInAPackage("jdk.incubator.vector..")
        .check(CLASSES);
    // The rule is not vacuous: simd is where the Vector API is used.
    assertThat(
            CLASSES.stream()
                .filter(c -> c.getPackageName().equals("io.nanscope.engine.simd"))
                .anyMatch(c ->
                    c.getDirectDependenciesFromSelf().stream()
                        .anyMatch(d ->
                            d.getTargetClass()
                                .getPackageName()
                                .startsWith("jdk.incubator.vector"))))
        .isTrue();
  }

  /**
   * No package cycles, except format ↔ simd (FloatFormat calls simd's FP16/BF16 rounding kernels,
   * which know FloatFormat): that cycle is written down here and in both package-info files until
   * issue #10 splits a bottom layer out of simd.
   */
  @Test
  void noPackageCyclesButFormatAndSimd() {
    slices()
        .matching("io.nanscope.engine.(*)..")
        .should()
        .beFreeOfCycles()
        .ignoreDependency(
            com.tngtech.archunit.base.DescribedPredicate.describe(
                "a class in engine.format",
                (com.tngtech.archunit.core.domain.JavaClass c) ->
                    c.getPackageName().equals("io.nanscope.engine.format")),
            com.tngtech.archunit.base.DescribedPredicate.describe(
                "a class in engine.simd",
                (com.tngtech.archunit.core.domain.JavaClass c) ->
                    c.getPackageName().equals("io.nanscope.engine.simd")))
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
            "io.nanscope.engine.op..",
            "io.nanscope.engine.autograd..",
            "io.nanscope.engine.trace..")
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
        .check(CLASSES);
  }
}
