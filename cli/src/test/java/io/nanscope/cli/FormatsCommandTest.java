package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.cli.MainTest.Result;
import java.util.List;
import org.junit.jupiter.api.Test;

class FormatsCommandTest {

  @Test
  void tableListsEveryFormatWithUnambiguousNames() {
    Result r = MainTest.run("formats");
    assertThat(r.code()).as(r.err()).isZero();
    List<String> lines = r.out().lines().toList();
    assertThat(lines.get(0))
        .contains("maxFinite")
        .contains("minNormal")
        .contains("minSubnormal")
        .contains("ulpOfOne")
        .doesNotContain("eps")
        .doesNotContain("tiny");
    String fp16 = lines.stream().filter(l -> l.startsWith("fp16 ")).findFirst().orElseThrow();
    assertThat(fp16.split(" +"))
        .containsSubsequence(
            "16", "11", "5", "65504", "6.1035156e-05", "5.9604645e-08", "9.7656250e-04", "yes");
    String bf16 = lines.stream().filter(l -> l.startsWith("bf16 ")).findFirst().orElseThrow();
    assertThat(bf16).contains("3.3895314e+38");
    String e4m3 = lines.stream().filter(l -> l.startsWith("fp8-e4m3 ")).findFirst().orElseThrow();
    assertThat(e4m3).contains(" 448 ").contains("no (overflow -> NaN)");
    assertThat(lines.stream().filter(l -> l.startsWith("fp64 ")).findFirst().orElseThrow())
        .contains("4.9406565e-324");
    for (String name : new String[] {"fp64", "fp32", "tf32", "fp8-e5m2"}) {
      assertThat(lines).anyMatch(l -> l.startsWith(name + " "));
    }
  }

  @Test
  void jsonRows() {
    Result r = MainTest.run("formats", "--json");
    assertThat(r.code()).isZero();
    assertThat(r.out().lines().count()).isEqualTo(7);
    assertThat(r.out())
        .contains(
            "{\"format\":\"fp16\",\"bits\":16,\"storageBytes\":2,\"precisionBits\":11,\"exponentBits\":5,\"maxFinite\":65504.0");
  }
}
