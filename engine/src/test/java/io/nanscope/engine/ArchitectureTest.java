package io.nanscope.engine;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.List;
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

  /** The packages that may use the Vector API: the bottom layer and the kernels built on it. */
  static final List<String> VECTOR_PACKAGES =
      List.of("io.nanscope.engine.lanes", "io.nanscope.engine.simd");

  /**
   * The Vector API lives in engine.lanes and engine.simd only (engine.format reaches it through the
   * lanes' rounding kernels). The other modules forbid it in their own ArchitectureTest; bench may
   * use it.
   */
  @Test
  void vectorApiOnlyInLanesAndSimd() {
    noClasses()
        .that()
        .resideOutsideOfPackages(VECTOR_PACKAGES.toArray(String[]::new))
        .should()
        .dependOnClassesThat()
        .resideInAPackage("jdk.incubator.vector..")
        .check(CLASSES);
    // Not vacuous: each listed package exists and uses the Vector API.
    for (String pkg : VECTOR_PACKAGES) {
      assertThat(
              CLASSES.stream()
                  .filter(c -> c.getPackageName().equals(pkg))
                  .anyMatch(c ->
                      c.getDirectDependenciesFromSelf().stream()
                          .anyMatch(d ->
                              d.getTargetClass()
                                  .getPackageName()
                                  .startsWith("jdk.incubator.vector"))))
          .as("%s uses the Vector API", pkg)
          .isTrue();
    }
  }

  /** The bottom layer imports nothing of ours, so everything else may build on it. */
  @Test
  void lanesIsTheBottomLayer() {
    classes()
        .that()
        .resideInAPackage("io.nanscope.engine.lanes..")
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage("io.nanscope.engine.lanes..", "java..", "jdk.incubator.vector..")
        .check(CLASSES);
  }

  /** No package cycles at all (format ↔ simd was one until engine.lanes was split out of simd). */
  @Test
  void noPackageCycles() {
    slices().matching("io.nanscope.engine.(*)..").should().beFreeOfCycles().check(CLASSES);
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
