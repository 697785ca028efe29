package io.nanscope.engine.op;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * FP16 semantics bit for bit against numpy float16 fixtures generated offline by {@code
 * scripts/numpy_fixtures.py} (see its docstring for how each expected value is computed): the
 * pytorch-fp16 precision (output FP16, accumulate and compute FP32) must reproduce them exactly,
 * including overflow to inf, subnormals and ties. Zero budget: both sides round correctly.
 */
class Fp16FixtureTest {

  private static final FloatFormat FP16 = FloatFormat.FP16;
  private static final Precision PYTORCH = new Precision(FP16, FloatFormat.FP32, FloatFormat.FP32);
  private static final OpContext CTX = OpContext.DEFAULT;
  private static final Site S = Site.of("fixture");

  private static List<String[]> lines(String name) {
    var in = Fp16FixtureTest.class.getResourceAsStream("/fixtures/" + name);
    assertThat(in)
        .as("fixture %s on the test class path (run scripts/numpy_fixtures.py)", name)
        .isNotNull();
    List<String[]> out = new ArrayList<>();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (!line.isBlank() && !line.startsWith("#")) {
          out.add(line.trim().split(" "));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(name, e);
    }
    return out;
  }

  private static float h(String hex) {
    return Float.float16ToFloat((short) Integer.parseInt(hex, 16));
  }

  private static String hex(float v) {
    return String.format("%04x", Float.floatToFloat16(v) & 0xFFFF);
  }

  private static Tensor t16(float... v) {
    return Tensor.of(FP16, Shape.of(v.length), v);
  }

  /** Compares bit patterns; NaN is compared as "is NaN" (payloads are not specified). */
  private static void assertSameBits(String what, float got, String expectedHex) {
    float want = h(expectedHex);
    if (Float.isNaN(want)) {
      assertThat(got).as(what).isNaN();
    } else {
      assertThat(hex(got))
          .as("%s: got %s (%s), numpy %s (%s)", what, got, hex(got), want, expectedHex)
          .isEqualTo(expectedHex);
    }
  }

  @Test
  void elementwiseOpsMatchNumpyBitForBit() {
    List<String[]> rows = lines("fp16_elementwise.txt");
    assertThat(rows).hasSizeGreaterThan(5000);
    int overflowToInf = 0;
    for (String[] r : rows) {
      Tensor a = t16(h(r[1])), b = t16(h(r[2]));
      Tensor y =
          switch (r[0]) {
            case "add" -> Add.forward(CTX, S, PYTORCH, a, b);
            case "mul" -> Mul.forward(CTX, S, PYTORCH, a, b);
            case "scale" -> Scale.forward(CTX, S, PYTORCH, a, 0.1);
            case "silu" -> Silu.forward(CTX, S, PYTORCH, a);
            case "swiglu" -> SwiGlu.forward(CTX, S, PYTORCH, a, b);
            default -> throw new IllegalStateException("unknown fixture op " + r[0]);
          };
      assertSameBits(String.join(" ", r), y.get(0), r[3]);
      if (Float.isInfinite(y.get(0)) && !Float.isInfinite(h(r[1])) && !Float.isInfinite(h(r[2]))) {
        overflowToInf++;
      }
    }
    assertThat(overflowToInf)
        .as("fixtures exercise overflow of finite inputs to inf")
        .isGreaterThan(10);
  }

  @Test
  void softmaxMatchesNumpyBitForBit() {
    for (String[] r : lines("fp16_softmax.txt")) {
      int n = Integer.parseInt(r[0]);
      float[] x = new float[n];
      for (int i = 0; i < n; i++) {
        x[i] = h(r[1 + i]);
      }
      Tensor y = Softmax.forward(CTX, S, PYTORCH, Tensor.of(FP16, Shape.of(1, n), x));
      for (int i = 0; i < n; i++) {
        assertSameBits("softmax n=" + n + " [" + i + "]", y.get(i), r[1 + n + i]);
      }
    }
  }

  @Test
  void gemmWithFp32AccumulationMatchesNumpyBitForBit() {
    List<String[]> rows = lines("fp16_gemm.txt");
    for (int at = 0; at < rows.size(); at += 4) {
      int m = Integer.parseInt(rows.get(at)[0]),
          n = Integer.parseInt(rows.get(at)[1]),
          k = Integer.parseInt(rows.get(at)[2]);
      Tensor a = Tensor.zeros(FP16, Shape.of(m, k)), b = Tensor.zeros(FP16, Shape.of(n, k));
      for (int i = 0; i < m * k; i++) {
        a.set(i, h(rows.get(at + 1)[i]));
      }
      for (int i = 0; i < n * k; i++) {
        b.set(i, h(rows.get(at + 2)[i]));
      }
      for (int threads : new int[] {1, 2}) {
        Tensor c = MatMul.forward(CTX.withThreads(threads), S, PYTORCH, a, b);
        for (int i = 0; i < m * n; i++) {
          assertSameBits(
              "gemm " + m + "x" + n + "x" + k + " [" + i + "] threads " + threads,
              c.get(i),
              rows.get(at + 3)[i]);
        }
      }
    }
  }
}
