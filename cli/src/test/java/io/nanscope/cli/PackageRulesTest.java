package io.nanscope.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The "May import:" line of every package-info in the library modules (engine, llama, editing,
 * report) is the rule: each package's classes depend only on what its line lists (plus itself). The
 * cli module sees all four, so the rules of every package are checked here, read from the sources,
 * so a line cannot drift from the code. Every library package must have such a line.
 *
 * <p>Words of the line: {@code java.base}, {@code java.desktop}, {@code jdk.incubator.vector},
 * {@code tools.jackson}, {@code EJML}, {@code XChart}, a module ({@code engine}) or one of its
 * packages ({@code engine.format}), and {@code every editing package}. Parenthesised text is a
 * comment.
 */
class PackageRulesTest {

  static final List<String> LIBRARY_MODULES = List.of("engine", "llama", "editing", "report");

  static final JavaClasses LIBRARY =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("io.nanscope");

  private static final Pattern MAY_IMPORT =
      Pattern.compile("May import:(.*?)(?:\\*/|\\n\\s*\\*\\s*\\n)", Pattern.DOTALL);

  /** The packages java.base exports that the code may use (java.desktop's are listed apart). */
  static final List<String> JAVA_BASE =
      List.of(
          "java.lang..",
          "java.util..",
          "java.io..",
          "java.nio..",
          "java.math..",
          "java.text..",
          "java.time..",
          "java.net..",
          "java.security..");

  /** Package → the ArchUnit package patterns its line allows. */
  static Map<String, List<String>> readRules(Path repo) throws IOException {
    Map<String, List<String>> rules = new LinkedHashMap<>();
    for (String module : LIBRARY_MODULES) {
      Path src = repo.resolve(module).resolve("src/main/java");
      try (Stream<Path> files = Files.walk(src)) {
        for (Path dir : files.filter(Files::isDirectory).toList()) {
          boolean hasClasses;
          try (Stream<Path> in = Files.list(dir)) {
            hasClasses =
                in.anyMatch(p ->
                    p.toString().endsWith(".java")
                        && !p.endsWith("package-info.java")
                        && !p.endsWith("module-info.java"));
          }
          if (!hasClasses) {
            continue;
          }
          String pkg = src.relativize(dir).toString().replace('/', '.');
          Path info = dir.resolve("package-info.java");
          if (!Files.isRegularFile(info)) {
            throw new AssertionError(pkg + " has no package-info.java with a 'May import:' line");
          }
          rules.put(pkg, allowed(pkg, Files.readString(info)));
        }
      }
    }
    return rules;
  }

  /** The patterns a package-info's "May import:" line allows to {@code pkg}. */
  static List<String> allowed(String pkg, String packageInfo) {
    Matcher m = MAY_IMPORT.matcher(packageInfo);
    if (!m.find()) {
      throw new AssertionError(pkg + ": package-info.java has no 'May import:' line");
    }
    String line = m.group(1).replaceAll("\\n\\s*\\*", " ").replaceAll("\\([^)]*\\)", "");
    List<String> out = new ArrayList<>();
    out.add(pkg);
    for (String raw : line.split(",")) {
      String w = raw.strip().replaceAll("\\.$", "").strip();
      switch (w) {
        case "java.base" -> out.addAll(JAVA_BASE);
        case "java.desktop" ->
            out.addAll(List.of("java.awt..", "javax.imageio..", "javax.swing.."));
        case "jdk.incubator.vector" -> out.add("jdk.incubator.vector..");
        case "tools.jackson" -> out.add("tools.jackson..");
        case "EJML" -> out.add("org.ejml..");
        case "XChart" -> out.add("org.knowm.xchart..");
        case "every editing package" -> out.add("io.nanscope.editing..");
        default -> {
          if (!w.matches("(engine|llama|editing|report)(\\.[a-z]+)?")) {
            throw new AssertionError(pkg + ": unknown word '" + w + "' in its 'May import:' line");
          }
          out.add("io.nanscope." + w + "..");
        }
      }
    }
    return out;
  }

  static ArchRule mayImportRule(String pkg, List<String> allowed) {
    return classes()
        .that()
        .resideInAPackage(pkg)
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage(allowed.toArray(String[]::new))
        .as(pkg + " imports only what its package-info's 'May import:' line lists: " + allowed);
  }

  @Test
  void everyLibraryPackageImportsOnlyWhatItsPackageInfoAllows() throws IOException {
    Map<String, List<String>> rules = readRules(ConvertAndSynthCommandTest.repoRoot());
    assertThat(rules).containsKeys("io.nanscope.engine.format", "io.nanscope.editing.rome");
    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, List<String>> e : rules.entrySet()) {
      try {
        mayImportRule(e.getKey(), e.getValue()).check(LIBRARY);
      } catch (AssertionError err) {
        failures.add(err.getMessage());
      }
    }
    assertThat(failures).isEmpty();
  }

  @Test
  void theRulesRejectADeliberatelyBadClass() {
    JavaClasses fixture = new ClassFileImporter().importPackages("io.nanscope.cli.archfixture");
    // A imports engine.format, which its (pretend) line does not allow.
    List<String> allowed =
        allowed("io.nanscope.cli.archfixture.a", "/** <p>May import: java.base, llama. */");
    assertThat(allowed).contains("io.nanscope.llama..").doesNotContain("io.nanscope.engine..");
    assertThatThrownBy(() -> mayImportRule("io.nanscope.cli.archfixture.a", allowed).check(fixture))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("io.nanscope.engine.format.FloatFormat");
    // a and b import each other: the cycle rule fails.
    assertThatThrownBy(() ->
            slices()
                .matching("io.nanscope.cli.archfixture.(*)..")
                .should()
                .beFreeOfCycles()
                .check(fixture))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("Cycle detected");
    // A line with a word the rules do not know is refused, not ignored.
    assertThatThrownBy(() -> allowed("x", "/** May import: java.base, numpy. */"))
        .hasMessageContaining("unknown word 'numpy'");
    assertThatThrownBy(() -> allowed("x", "/** Imports whatever. */"))
        .hasMessageContaining("no 'May import:' line");
  }
}
