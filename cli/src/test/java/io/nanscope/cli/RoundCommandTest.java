package io.nanscope.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.cli.MainTest.Result;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class RoundCommandTest {

  private static List<String> dataLines(Result r) {
    return r.out().lines().skip(2).toList(); // header line + column titles
  }

  @Test
  void fp16ExamplesFromTheIssue() {
    Result r = MainTest.run("round", "--format", "fp16", "65519", "65520", "1e-8");
    assertThat(r.code()).as(r.err()).isZero();
    List<String> rows = dataLines(r);
    assertThat(rows).hasSize(3);
    assertThat(rows.get(0)).matches("65519 +65504 +0 \\| 11110 \\| 1111111111 +0x7bff +normal");
    assertThat(rows.get(1))
        .matches("65520 +inf +0 \\| 11111 \\| 0000000000 +0x7c00 +inf +overflow");
    assertThat(rows.get(2)).matches("1e-8 +0 +0 \\| 00000 \\| 0000000000 +0x0000 +zero +underflow");
  }

  @Test
  void jsonHasOneObjectPerValue() {
    Result r = MainTest.run("round", "--format", "bf16", "--json", "--", "-1e-45", "3.4e38", "0.1");
    assertThat(r.code()).as(r.err()).isZero();
    JsonMapper m = JsonMapper.builder().build();
    List<JsonNode> objs = r.out().lines().map(m::readTree).toList();
    assertThat(objs).hasSize(3);
    assertThat(objs.get(0).get("value").asString()).isEqualTo("-0");
    assertThat(objs.get(0).get("underflow").asBoolean()).isTrue();
    assertThat(objs.get(0).get("sign").asString()).isEqualTo("1");
    assertThat(objs.get(1).get("value").asString()).isEqualTo("inf");
    assertThat(objs.get(1).get("overflow").asBoolean()).isTrue();
    assertThat(objs.get(2).get("bits").asString()).isEqualTo("0x3dcd");
    assertThat(objs.get(2).get("exponent").asString()).isEqualTo("01111011");
    assertThat(objs.get(2).get("mantissa").asString()).isEqualTo("1001101");
    assertThat(objs.get(2).get("class").asString()).isEqualTo("normal");
    // the error is against the exact decimal 0.1 (not the double nearest to it)
    assertThat(objs.get(2).get("error").asDouble())
        .isEqualTo(new java.math.BigDecimal("0.00009765625").doubleValue());
  }

  @Test
  void negativeValuesNeedNoDoubleDash() {
    Result r = MainTest.run("round", "--format", "fp16", "-inf", "-nan", "-0x1p-14", "-0", "-1e-8");
    assertThat(r.code()).as(r.err()).isZero();
    List<String> rows = dataLines(r);
    assertThat(rows).hasSize(5);
    assertThat(rows.get(0)).startsWith("-inf ").contains("0xfc00");
    assertThat(rows.get(1)).contains(" nan ");
    assertThat(rows.get(2)).contains("0x8400");
    assertThat(rows.get(3)).contains("0x8000");
    assertThat(rows.get(4)).contains("0x8000").contains("underflow");
    Result typo = MainTest.run("round", "--fromat", "fp16", "1");
    assertThat(typo.code()).isEqualTo(2);
    assertThat(typo.err().strip()).contains("--fromat").doesNotContain("\n");
  }

  @Test
  void decimalsAreRoundedOnceExactly() {
    Result r =
        MainTest.run(
            "round",
            "-f",
            "fp16",
            "--json",
            "65519.999999999999999",
            "1.00048828125000000000001",
            "1e-400",
            "0x1.00000000000000000001p0");
    List<String> lines = r.out().lines().toList();
    assertThat(lines.get(0)).contains("\"value\":\"65504\"").contains("\"overflow\":false");
    assertThat(lines.get(1)).contains("\"bits\":\"0x3c01\"");
    assertThat(lines.get(2)).contains("\"value\":\"0\"").contains("\"underflow\":true");
    assertThat(lines.get(3)).contains("\"bits\":\"0x3c00\"");
    Result down =
        MainTest.run(
            "round", "-f", "fp16", "-r", "down", "--json", "0.99999999999999999999", "1e400");
    assertThat(down.out().lines().toList().get(0)).contains("\"value\":\"0.99951171875\"");
    assertThat(down.out().lines().toList().get(1))
        .contains("\"value\":\"65504\"")
        .contains("\"overflow\":true");
    Result sat = MainTest.run("round", "-f", "fp16", "--overflow", "saturate", "--json", "1e400");
    assertThat(sat.out()).contains("\"value\":\"65504\"").contains("\"overflow\":true");
    Result up = MainTest.run("round", "-f", "fp16", "-r", "up", "--json", "1e-400");
    assertThat(up.out()).contains("\"bits\":\"0x0001\"").contains("\"underflow\":false");
  }

  @Test
  void everyAcceptedSpellingIsDocumentedInTheHelp() {
    String help = MainTest.run("round", "--help").out();
    for (String alias :
        new String[] {
          "rne",
          "rn",
          "nearest",
          "rz",
          "truncate",
          "ru",
          "ceiling",
          "rd",
          "floor",
          "sr",
          "sat",
          "ftz",
          "inf",
          "case-insensitive"
        }) {
      assertThat(help).as(alias).contains(alias);
    }
    Result custom = MainTest.run("round", "-f", "custom:p=4,e=3,q=1", "1");
    assertThat(custom.code()).isEqualTo(2);
    assertThat(custom.err()).contains("unknown key 'q'");
  }

  @Test
  void modesAndRules() {
    Result rz = MainTest.run("round", "-f", "fp16", "--rounding", "toward-zero", "--json", "70000");
    assertThat(rz.out()).contains("\"value\":\"65504\"").contains("\"overflow\":true");
    Result e4 = MainTest.run("round", "-f", "e4m3", "--json", "500", "448");
    assertThat(e4.out().lines().toList().get(0))
        .contains("\"value\":\"nan\"")
        .contains("\"bits\":\"0x7f\"");
    Result sat = MainTest.run("round", "-f", "fp8-e4m3", "--overflow", "saturate", "--json", "500");
    assertThat(sat.out()).contains("\"value\":\"448\"").contains("\"bits\":\"0x7e\"");
    Result upFlush =
        MainTest.run("round", "-f", "fp16", "-r", "up", "--subnormals", "flush", "1e-6");
    assertThat(upFlush.out().lines().findFirst().orElseThrow())
        .contains("flush subnormals after rounding, in every rounding mode");
    Result ftz = MainTest.run("round", "-f", "fp16", "--subnormals", "flush", "--json", "1e-5");
    assertThat(ftz.out()).contains("\"value\":\"0\"").contains("\"underflow\":true");
  }

  @Test
  void stochasticIsReproducibleBySeed() {
    String[] vals = new String[64];
    java.util.Arrays.fill(vals, "1.0001");
    String[] args = new String[vals.length + 5];
    System.arraycopy(new String[] {"round", "-f", "fp16", "-r", "stochastic"}, 0, args, 0, 5);
    System.arraycopy(vals, 0, args, 5, vals.length);
    String[] seeded =
        java.util.stream.Stream.concat(
                java.util.Arrays.stream(args), java.util.stream.Stream.of("--seed", "5"))
            .toArray(String[]::new);
    Result a = MainTest.run(seeded);
    Result b = MainTest.run(seeded);
    assertThat(a.code()).isZero();
    assertThat(a.out()).isEqualTo(b.out());
    // 1.0001 is 0.1024 ulp above 1: both neighbours appear among 64 draws
    assertThat(a.out()).contains(" 1 ").contains("1.0009765625");
  }

  @Test
  void badInputIsOneLineWithChoicesAndExitTwo() {
    for (String[] args :
        new String[][] {
          {"round", "--format", "fp12", "1"},
          {"round", "--format", "fp16", "abc"},
          {"round", "--rounding", "sideways", "1"},
          {"round", "--overflow", "wrap", "1"}
        }) {
      Result r = MainTest.run(args);
      assertThat(r.code()).as(String.join(" ", args)).isEqualTo(Main.EXIT_BAD_INPUT);
      assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
      assertThat(r.out()).isEmpty();
    }
    assertThat(MainTest.run("round", "--format", "fp12", "1").err())
        .contains("fp16")
        .contains("fp8-e4m3")
        .contains("bf16");
    assertThat(MainTest.run("round", "abc").err()).contains("not a number: 'abc'").contains("1e-8");
    assertThat(MainTest.run("round", "-r", "sideways", "1").err())
        .contains("nearest-even")
        .contains("stochastic");
    assertThat(MainTest.run("round", "--format", "fp16").code()).isEqualTo(Main.EXIT_BAD_INPUT);
  }

  @Test
  void negativeNumbersAreValuesNotOptions() {
    Result r = MainTest.run("round", "-f", "fp16", "-65520", "-1e-8");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("-inf").contains("-0");
  }
}
