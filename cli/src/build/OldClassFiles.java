import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.ClassTransform;
import java.lang.classfile.CodeTransform;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Build step of the CLI jar (cli/pom.xml runs it after the shade plugin): rewrites the jar's class
 * files older than version 50 (Java 6) as version 52 (Java 8) with stack map frames, unchanged
 * otherwise. Why: the JVM's AOT cache (JEP 483) cannot hold a class that was verified by the old
 * type-inferring verifier (the one that classes before version 50 need), so picocli, built for
 * Java 5, was loaded and verified from the jar on every start (~170 classes, and every class of
 * ours that implements one of its interfaces); with frames the split verifier checks them at the
 * training run and the cache keeps them. The instructions, constants, fields, attributes and
 * annotations are the ones of the original class; only the version and the frames are new. Every
 * rewritten class is checked with the class-file API's verifier and the build fails on an error.
 *
 * <p>Usage: {@code java OldClassFiles.java JAR} (rewrites JAR in place; prints one line).
 */
public final class OldClassFiles {
  private static final int FIRST_WITH_FRAMES = 50;

  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: java OldClassFiles.java JAR");
      System.exit(2);
    }
    Path jar = Path.of(args[0]);
    Path tmp = jar.resolveSibling(jar.getFileName() + ".tmp");
    int rewritten = 0;
    // Frames name the common super class of two types: the jar's own classes are resolved from the
    // jar, the JDK's from the running JDK.
    try (URLClassLoader classes = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null)) {
      ClassFile cf =
          ClassFile.of(
              ClassFile.ClassHierarchyResolverOption.of(
                  ClassHierarchyResolver.defaultResolver()
                      .orElse(ClassHierarchyResolver.ofResourceParsing(classes))),
              ClassFile.StackMapsOption.GENERATE_STACK_MAPS);
      ClassTransform toJava8 =
          ClassTransform.dropping(e -> e instanceof ClassFileVersion)
              // rebuilding every method body is what makes the class-file API write the frames
              .andThen(ClassTransform.transformingMethodBodies(CodeTransform.ACCEPT_ALL))
              .andThen(ClassTransform.endHandler(b -> b.withVersion(ClassFile.JAVA_8_VERSION, 0)));
      try (ZipInputStream in = new ZipInputStream(Files.newInputStream(jar));
          ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(tmp))) {
        for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
          byte[] bytes = in.readAllBytes();
          if (e.getName().endsWith(".class") && !e.getName().endsWith("module-info.class")) {
            ClassModel model = cf.parse(bytes);
            if (model.majorVersion() < FIRST_WITH_FRAMES) {
              bytes = cf.transformClass(model, toJava8);
              List<VerifyError> errors = cf.verify(bytes);
              if (!errors.isEmpty()) {
                throw new IllegalStateException(e.getName() + " fails verification: " + errors);
              }
              rewritten++;
            }
          }
          ZipEntry copy = new ZipEntry(e.getName());
          copy.setTime(e.getTime());
          out.putNextEntry(copy);
          out.write(bytes);
          out.closeEntry();
        }
      }
    }
    Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING);
    System.out.println(
        "OldClassFiles: " + rewritten + " classes older than Java 6 rewritten as Java 8 in " + jar);
  }
}
