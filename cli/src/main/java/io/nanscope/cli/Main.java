package io.nanscope.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code nanscope} command. Each subcommand is one class in this package; register new ones in
 * {@link #COMMANDS} and {@link #command} (keep them sorted by name). Only the subcommand a command
 * line names is built (picocli reads every option of every command it is given, ~0.1 s for all of
 * them); a command line that names none (help, usage, an unknown name) gets all of them.
 *
 * <p>Two command lines skip picocli altogether (docs/guide/startup.md: its start-up, reflection and
 * annotation proxies cost more than the rest of the JVM's start): {@code --version} alone, and a
 * {@code generate} whose options {@link GenerateCommand#simple} reads exactly as picocli would;
 * every other command line, and every generate that is not that simple, goes through picocli.
 *
 * <p>Exit codes: 0 success, 2 bad input (unknown option, bad value, unreadable file: one line on
 * stderr saying what was wrong and how to fix it), 1 any other failure.
 */
@Command(
    name = "nanscope",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = {
      "Makes floating-point overflow in LLM knowledge editing visible and reproducible on a CPU.",
      "Run 'nanscope COMMAND --help' for a command's options."
    })
public final class Main {

  /** The subcommands' {@code @Command} names (MainTest checks them), in usage order. */
  static final List<String> COMMANDS =
      List.of(
          "help",
          "bisect",
          "calibrate",
          "convert",
          "edit",
          "formats",
          "generate",
          "repro",
          "revert",
          "round",
          "synth",
          "trace");

  /**
   * A new instance of the command named {@code name} (one of {@link #COMMANDS}). A switch, not a
   * map of constructor references: each of those would spin a class at every start.
   */
  static Object command(String name) {
    return switch (name) {
      case "help" -> new CommandLine.HelpCommand();
      case "bisect" -> new BisectCommand();
      case "calibrate" -> new CalibrateCommand();
      case "convert" -> new ConvertCommand();
      case "edit" -> new EditCommand();
      case "formats" -> new FormatsCommand();
      case "generate" -> new GenerateCommand();
      case "repro" -> new ReproCommand();
      case "revert" -> new RevertCommand();
      case "round" -> new RoundCommand();
      case "synth" -> new SynthCommand();
      case "trace" -> new TraceCommand();
      default -> throw new IllegalArgumentException("no command " + name);
    };
  }

  /** Exit code for input the user can fix. */
  public static final int EXIT_BAD_INPUT = 2;

  public static void main(String[] args) {
    int code = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
    if (isVersion(args) || GenerateCommand.simple(args) != null) {
      // Nothing on these two paths registers a shutdown hook or leaves a file to delete on exit:
      // halt after flushing skips System.exit's set-up of the platform logger it asks whether to
      // log the exit (~40 classes, the java.logging configuration).
      System.out.flush();
      System.err.flush();
      Runtime.getRuntime().halt(code);
    }
    System.exit(code);
  }

  private static boolean isVersion(String[] args) {
    return args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"));
  }

  /** Runs the command line; returns the exit code (tests call this instead of {@link #main}). */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    if (isVersion(args)) {
      out.println(versionLine()); // what picocli prints for --version (MainTest compares)
      out.flush();
      return 0;
    }
    GenerateCommand generate = GenerateCommand.simple(args);
    if (generate != null) {
      try {
        return generate.run(out, err);
      } catch (Exception ex) {
        return failure(ex, "generate", err);
      } finally {
        out.flush();
        err.flush();
      }
    }
    return viaPicocli(args, out, err);
  }

  /** {@link #run} without the two command lines that skip picocli (tests compare the two). */
  static int viaPicocli(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = commandLine(args);
    cl.setOut(out);
    cl.setErr(err);
    return cl.execute(args);
  }

  /** The command with the subcommands {@code args} needs (class javadoc). */
  static CommandLine commandLine(String... args) {
    CommandLine cl = new CommandLine(new Main());
    String first = args.length > 0 ? args[0] : "";
    if (COMMANDS.contains(first) && !first.equals("help")) {
      cl.addSubcommand(command(first));
    } else if (!(args.length == 1 && (first.equals("--version") || first.equals("-V")))) {
      for (String name : COMMANDS) {
        cl.addSubcommand(command(name));
      }
    }
    // the handlers and settings below reach the subcommands added so far only: add them first
    cl.setExecutionExceptionHandler(Main::handleExecutionException);
    cl.setParameterExceptionHandler(Main::handleParameterException);
    // The descriptions are written as lines of up to ~105 columns: keep them whole when the
    // terminal
    // width is unknown (pipes, logs); a terminal's own width still wins.
    cl.setUsageHelpWidth(110);
    cl.setUsageHelpAutoWidth(true);
    // round's values may start with '-' ("-inf", "-nan", "-0x1p-14"): picocli reads only numbers
    // like
    // -1 as values by itself; anything that is not one of round's options is a value there.
    CommandLine round = cl.getSubcommands().get("round");
    if (round != null) { // absent when the command line names another command
      round.setUnmatchedOptionsArePositionalParams(true);
    }
    return cl;
  }

  private static int handleParameterException(CommandLine.ParameterException ex, String[] args) {
    CommandLine cmd = ex.getCommandLine();
    cmd.getErr()
        .println(
            "nanscope "
                + cmd.getCommandName()
                + ": "
                + oneLine(ex.getMessage())
                + " (see 'nanscope "
                + qualifiedName(cmd)
                + " --help')");
    return EXIT_BAD_INPUT;
  }

  private static int handleExecutionException(
      Exception ex, CommandLine cmd, CommandLine.ParseResult parseResult) {
    return failure(ex, cmd.getCommandName(), cmd.getErr());
  }

  /** A command's exception: bad input is one line and exit 2, anything else a stack trace, 1. */
  private static int failure(Exception ex, String command, PrintWriter err) {
    if (isBadInput(ex)) {
      err.println("nanscope " + command + ": " + describe(ex));
      return EXIT_BAD_INPUT;
    }
    err.println("nanscope " + command + ": internal error: " + describe(ex));
    ex.printStackTrace(err);
    return 1;
  }

  /** Errors a user can fix by changing their input: bad values, missing or malformed files. */
  public static boolean isBadInput(Throwable ex) {
    return ex instanceof IllegalArgumentException
        || ex instanceof NoSuchFileException
        || ex instanceof UncheckedIOException
        || ex instanceof IOException;
  }

  private static String describe(Throwable ex) {
    if (ex instanceof NoSuchFileException nsf) {
      return "no such file: " + nsf.getFile();
    }
    if (ex instanceof UncheckedIOException uio && uio.getCause() != null) {
      return describe(uio.getCause());
    }
    String msg = ex.getMessage();
    return msg == null ? ex.getClass().getSimpleName() : oneLine(msg);
  }

  /**
   * A message as one printable line: line breaks become spaces and other control characters (a NUL
   * from a hostile file, escape sequences) are shown as \\uXXXX, so a file's bytes can neither
   * split the error nor make the launcher's stderr filter treat it as binary.
   */
  static String oneLine(String msg) {
    StringBuilder b = new StringBuilder(msg.length());
    for (int i = 0; i < msg.length(); i++) {
      char c = msg.charAt(i);
      if (c == '\n' || c == '\r' || c == '\t') {
        b.append(' ');
      } else if (Character.isISOControl(c)) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.toString().strip();
  }

  private static String qualifiedName(CommandLine cmd) {
    String name = cmd.getCommandName();
    CommandLine parent = cmd.getParent();
    return parent == null || parent.getParent() == null && name.equals("nanscope")
        ? (name.equals("nanscope") ? "" : name)
        : name;
  }

  /** The one line {@code --version} prints. */
  static String versionLine() {
    String v = Main.class.getPackage().getImplementationVersion();
    return "nanscope " + (v == null ? "0.1.0-SNAPSHOT" : v) + " on Java " + Runtime.version();
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {versionLine()};
    }
  }
}
