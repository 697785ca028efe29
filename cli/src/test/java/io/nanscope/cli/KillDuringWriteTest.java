package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.SyntheticWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * SIGKILL at random points of a real {@code nanscope} process (a child JVM on this test's class
 * path): {@code convert} and {@code edit --out} leave the old state or the complete new file, never
 * a partial one; temporary files of a killed writer may stay until the next write of the same name,
 * which removes them (their process is gone). Kill times are seeded, spread over the whole run,
 * half of them in its last fifth where the output is written; each child is bounded to a few
 * seconds.
 */
class KillDuringWriteTest {

  static final long SEED = 20261206;
  static final int KILLS = 4;

  /** The child JVM: same java, same class path, the CLI's main class. */
  static ProcessBuilder nanscope(Path log, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(
        List.of(
            "--add-modules",
            "jdk.incubator.vector",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            System.getProperty("java.class.path"),
            Main.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
  }

  /** Runs to the end; returns its wall time in seconds. */
  static double complete(Path log, String... args) throws Exception {
    long t0 = System.nanoTime();
    Process p = nanscope(log, args).start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("finished").isTrue();
    assertThat(p.exitValue()).as(Files.readString(log)).isZero();
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.printf(java.util.Locale.ROOT, "%s ran to the end in %.2f s%n", args[0], s);
    return s;
  }

  /** Starts the child and kills it with SIGKILL after {@code seconds} (if still running). */
  static boolean killAfter(double seconds, Path log, String... args) throws Exception {
    Process p = nanscope(log, args).start();
    boolean finished = p.waitFor((long) (seconds * 1e9), TimeUnit.NANOSECONDS);
    if (!finished) {
      p.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no finally block runs
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    System.out.printf(
        java.util.Locale.ROOT,
        "%s %s at %.2f s%n",
        args[0],
        finished ? "had finished" : "killed",
        seconds);
    return !finished;
  }

  /** The kill times: half spread over [0, T], half over [0.8 T, 1.1 T]. */
  static double[] killTimes(double full, SplittableRandom rnd) {
    double[] t = new double[KILLS];
    for (int i = 0; i < KILLS; i++) {
      t[i] = i % 2 == 0 ? rnd.nextDouble() * full : full * (0.8 + 0.3 * rnd.nextDouble());
    }
    return t;
  }

  static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /** File name → sha256 of its bytes. */
  static Map<String, String> contents(Path dir) throws Exception {
    Map<String, String> m = new TreeMap<>();
    for (String n : names(dir)) {
      m.put(
          n,
          java.util.HexFormat.of()
              .formatHex(
                  java.security.MessageDigest.getInstance("SHA-256")
                      .digest(Files.readAllBytes(dir.resolve(n)))));
    }
    return m;
  }

  @Test
  void convertKilledLeavesNoDirectoryOrTheCompleteOne(@TempDir Path tmp) throws Exception {
    // a 50 MB FP32 source model, so that writing is a good part of the run
    Path src = Files.createDirectories(tmp.resolve("src"));
    LlamaConfig c =
        new LlamaConfig(
            512,
            1376,
            4,
            8,
            8,
            512,
            256,
            1e-5,
            10000.0,
            false,
            "float32",
            RopeLayout.HF_ROTATE_HALF);
    SyntheticWeights.write(c, FloatFormat.FP32, 7, src, Long.MAX_VALUE);
    Tokenizer.read(ConvertAndSynthCommandTest.STORIES.resolve("tok512.bin")).writeHfFiles(src);
    Path work = Files.createDirectories(tmp.resolve("work"));
    Path log = tmp.resolve("log.txt");
    Path reference = work.resolve("reference");
    double full =
        complete(log, "convert", "--model", src.toString(), "--out", reference.toString());
    Map<String, String> expected = contents(reference);
    SplittableRandom rnd = new SplittableRandom(SEED);
    Path out = work.resolve("out");
    int killed = 0;
    for (double t : killTimes(full, rnd)) {
      killed +=
          killAfter(t, log, "convert", "--model", src.toString(), "--out", out.toString()) ? 1 : 0;
      if (Files.exists(out)) {
        assertThat(contents(out)).as("after a kill at %.2f s", t).isEqualTo(expected);
        deleteTree(out); // the next run needs a new directory
      }
      for (String n : names(work)) {
        assertThat(n)
            .as("only the reference, and staging folders of killed runs")
            .matches("reference|\\.out\\.partial-[0-9]+");
      }
    }
    assertThat(killed).as("kills that hit a running process").isPositive();
    complete(log, "convert", "--model", src.toString(), "--out", out.toString());
    assertThat(contents(out)).isEqualTo(expected);
    assertThat(names(work)).as("stale staging folders removed").containsExactly("out", "reference");
  }

  @Test
  void editKilledLeavesTheOldResultsOrTheCompleteNewOnes(@TempDir Path tmp) throws Exception {
    Path hp = tmp.resolve("quick.yaml"); // one cheap ROME edit: 2 steps, 1 + 5 templates
    Files.writeString(
        hp,
        Files.readString(Path.of(EditCommandTest.HPARAMS))
            .replace("v_num_grad_steps: 25", "v_num_grad_steps: 2")
            .replaceFirst(
                "context_template_length_params: .*", "context_template_length_params: [[5, 5]]"));
    Path work = Files.createDirectories(tmp.resolve("work"));
    Path results = work.resolve("results.json");
    byte[] old = "[\"the old results\"]\n".getBytes();
    Files.write(results, old);
    Path log = tmp.resolve("log.txt");
    String[] args = {
      "edit",
      "--model",
      EditCommandTest.MODEL,
      "--hparams",
      hp.toString(),
      "--data",
      EditCommandTest.DATA,
      "--ds-size",
      "1",
      "--no-fluency",
      "--out",
      results.toString()
    };
    double full = complete(log, args);
    checkComplete(results);
    SplittableRandom rnd = new SplittableRandom(SEED + 1);
    int killed = 0;
    for (double t : killTimes(full, rnd)) {
      Files.write(results, old);
      killed += killAfter(t, log, args) ? 1 : 0;
      byte[] now = Files.readAllBytes(results);
      if (!java.util.Arrays.equals(now, old)) {
        checkComplete(results);
      }
      for (String n : names(work)) {
        assertThat(n)
            .as("after a kill at %.2f s", t)
            .matches("results\\.json|\\.results\\.json\\.[0-9]+-[0-9a-f]+\\.tmp");
      }
    }
    assertThat(killed).as("kills that hit a running process").isPositive();
    complete(log, args);
    checkComplete(results);
    assertThat(names(work)).as("stale temporary files removed").containsExactly("results.json");
  }

  private static void checkComplete(Path results) throws IOException {
    JsonNode r = new ObjectMapper().readTree(results.toFile());
    assertThat(r.isArray()).isTrue();
    assertThat(r.size()).isEqualTo(1);
    assertThat(r.get(0).get("post").get("rewrite_acc").isArray()).isTrue();
  }

  private static void deleteTree(Path p) throws IOException {
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }
}
