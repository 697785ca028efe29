package io.nanscope.report;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Keeps the dependency arrows of docs/architecture.md honest for the report module. */
class ArchitectureTest {

  private static final JavaClasses CLASSES =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.nanscope.report");

  /** The presentation draws what the library measured: it never reaches the CLI or the kernels. */
  @Test
  void reportDoesNotReachUpOrIntoKernels() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.nanscope.cli..",
            "jdk.incubator.vector..",
            "io.nanscope.engine.lanes..",
            "io.nanscope.engine.simd..",
            "io.nanscope.engine.parallel..")
        .check(CLASSES);
  }

  /** report.run builds on report, never the reverse: one slice per package, no cycle. */
  @Test
  void noPackageCycles() {
    slices().matching("io.nanscope.(**)").should().beFreeOfCycles().check(CLASSES);
  }
}
