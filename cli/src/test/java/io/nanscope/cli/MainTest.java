package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {

  record Result(int code, String out, String err) {}

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void helpListsCommands() {
    Result r = run("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("Usage: nanscope").contains("Commands:");
  }

  @Test
  void unknownOptionIsBadInputWithOneLine() {
    Result r = run("--no-such-option");
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err().strip().lines().count()).isEqualTo(1);
    assertThat(r.err()).contains("--no-such-option");
  }

  @Test
  void everyCommandIsRegisteredUnderItsOwnName() {
    for (String name : Main.COMMANDS) {
      assertThat(new CommandLine(Main.command(name)).getCommandName()).isEqualTo(name);
    }
    assertThat(run("--help").out()).contains(Main.COMMANDS.stream().skip(1).toList());
  }

  @Test
  void onlyTheNamedCommandIsBuilt() {
    assertThat(Main.commandLine("round", "1").getSubcommands().keySet()).containsExactly("round");
    assertThat(Main.commandLine("--version").getSubcommands()).isEmpty();
    assertThat(Main.commandLine("help", "round").getSubcommands().keySet())
        .containsExactlyElementsOf(Main.COMMANDS);
    assertThat(Main.commandLine("no-such-command").getSubcommands()).hasSameSizeAs(Main.COMMANDS);
    Result v = run("--version");
    assertThat(v.code()).isZero();
    assertThat(v.out()).startsWith("nanscope ").contains(" on Java ");
  }

  /** {@code --version} skips picocli and prints what picocli prints, exit 0. */
  @Test
  void versionWithoutPicocliIsPicoclisVersion() {
    for (String v : new String[] {"--version", "-V"}) {
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int code = Main.viaPicocli(new String[] {v}, new PrintWriter(out), new PrintWriter(err));
      Result fast = run(v);
      assertThat(fast).isEqualTo(new Result(code, out.toString(), err.toString()));
      assertThat(fast.code()).isZero();
      assertThat(fast.out()).isEqualTo(Main.versionLine() + System.lineSeparator());
    }
  }

  /** The handlers reach a subcommand added on its own: bad input is one line and exit 2. */
  @Test
  void aCommandBuiltAloneKeepsTheBadInputHandling() {
    Result r = run("round", "--format", "no-such-format", "1");
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err().strip().lines().count()).isEqualTo(1);
    assertThat(r.err()).startsWith("nanscope round: ");
    Result help = run("help", "round");
    assertThat(help.code()).isZero();
    assertThat(help.out()).contains("Usage: nanscope round");
  }

  @Test
  void aHostileFilesBytesCannotSplitOrHideTheErrorLine() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("nanscope-main");
    java.nio.file.Path config = dir.resolve("config.json");
    java.nio.file.Files.write(config, new byte[] {'[', 0, 'X', '\n', 'Y', 0x1b, ']'});
    java.nio.file.Files.write(dir.resolve("model.safetensors"), new byte[8]);
    Result r = run("generate", "--model", dir.toString(), "--steps", "2");
    assertThat(r.code()).isEqualTo(Main.EXIT_BAD_INPUT);
    assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
    assertThat(r.err()).doesNotContain("\0").doesNotContain("\u001b");
    assertThat(Main.oneLine("a\0b\nc\u001bd")).isEqualTo("a\\u0000b c\\u001bd");
  }
}
