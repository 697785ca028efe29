package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.cli.MainTest.Result;
import org.junit.jupiter.api.Test;

/** Bad input to {@code repro}: one line, exit code 2, before any work. (The scenarios are tested in editing.) */
class ReproCommandTest {

  @Test
  void badInputIsRefusedWithExitCode2() {
    for (String[] args : new String[][] {
      {"repro", "--scenario", "bogus"},
      {"repro", "--policy", "auto", "--fallback", "fp8"},
      {"repro", "--policy", "fp17"},
      {"repro", "--ds-size", "0"},
      {"repro", "--context", "none"},
      {"repro", "--division-factor", "0"},
      {"repro", "--loss-scale", "static"},
    }) {
      Result r = MainTest.run(args);
      assertThat(r.code()).as(String.join(" ", args) + ": " + r.err()).isEqualTo(2);
      assertThat(r.err().lines().count()).as(r.err()).isEqualTo(1);
      assertThat(r.out()).isEmpty();
    }
  }
}
