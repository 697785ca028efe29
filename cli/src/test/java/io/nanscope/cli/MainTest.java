package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

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
}
