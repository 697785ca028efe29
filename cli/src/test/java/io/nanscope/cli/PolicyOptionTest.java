package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * Every command's --policy goes through one resolver: a policy YAML file is accepted by trace and
 * generate.
 */
class PolicyOptionTest {

  private static final String YAML =
      ConvertAndSynthCommandTest.repoRoot()
          .resolve("configs/precision/fp16-down-proj-fp32.yaml")
          .toString();

  @Test
  void traceAndGenerateAcceptAPolicyFile() throws IOException {
    MainTest.Result t =
        MainTest.run(
            "trace",
            "--model",
            ConvertAndSynthCommandTest.STORIES.toString(),
            "--prompt",
            "Once upon a time",
            "--policy",
            YAML);
    assertThat(t.code()).as(t.err()).isZero();
    assertThat(t.out()).contains("policy fp16-down-proj-fp32");
    MainTest.Result g =
        MainTest.run(
            "generate",
            "--model",
            ConvertAndSynthCommandTest.STORIES.toString(),
            "--prompt",
            "Once upon a time",
            "--steps",
            "8",
            "--policy",
            YAML);
    assertThat(g.code()).as(g.err()).isZero();
    assertThat(g.err()).contains("policy fp16-down-proj-fp32");
  }
}
