package io.nanscope.engine.autograd;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Tracer;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Adam, SGD and the loss scaler's unscale, now run in blocks with bulk roundings, against the
 * element-by-element loops they replaced (written out below from that code, Tensor.get/set per
 * element): the same parameter, state and gradient bits after three steps, and the same traced
 * unrounded values, for FP32/FP16/BF16/FP8 parameters and states, sizes 1, 7, 31, 33, 4095 and one
 * past a block (4101), with and without weight decay, over values that include NaN, ±inf, ±0 and
 * subnormals.
 */
class BlockedUpdateTest {

  private static final int[] SIZES = {1, 7, 31, 33, 4095, 4101};
  private static final List<FloatFormat> FORMATS =
      List.of(FloatFormat.FP32, FloatFormat.FP16, FloatFormat.BF16, FloatFormat.FP8_E5M2);

  private static Tensor random(FloatFormat f, int n, SplittableRandom rnd) {
    float[] special = {
      Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 1e-7f, -3e-41f
    };
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] =
          rnd.nextInt(50) == 0
              ? special[rnd.nextInt(special.length)]
              : (float) (rnd.nextGaussian() * 0.5);
    }
    return Tensor.of(f, Shape.of(n), v);
  }

  private static byte[] bytes(Tensor t) {
    return t.segment().toArray(ValueLayout.JAVA_BYTE);
  }

  private static final class Collect implements Tracer {
    final List<OpRecord> records = new ArrayList<>();

    @Override
    public boolean enabled() {
      return true;
    }

    @Override
    public void record(OpRecord r) {
      records.add(r);
    }
  }

  /**
   * The element-by-element Adam step the blocked one replaced; returns the unrounded {m, v, d, p}.
   */
  private static float[][] adamReference(
      Tensor param,
      Tensor grad,
      Tensor expAvg,
      Tensor expAvgSq,
      int step,
      double lr,
      double beta1,
      double beta2,
      double eps,
      double weightDecay,
      FloatFormat sf) {
    FloatFormat gf = grad.format();
    double bc1 = 1 - Math.pow(beta1, step);
    double bc2 = 1 - Math.pow(beta2, step);
    float negStepSize = (float) -(lr / bc1);
    float bc2Sqrt = (float) Math.sqrt(bc2);
    float w1 = (float) (1 - beta1), b2 = (float) beta2, c2 = (float) (1 - beta2);
    float epsF = (float) eps, wd = (float) weightDecay;
    int n = Math.toIntExact(param.size());
    float[][] u = new float[4][n];
    for (int i = 0; i < n; i++) {
      float p = param.get(i);
      float g = grad.get(i);
      if (weightDecay != 0) {
        g = gf.round(g + wd * p);
      }
      float m = expAvg.get(i);
      float mNew = Math.abs(w1) < 0.5f ? m + w1 * (g - m) : g - (g - m) * (1 - w1);
      expAvg.set(i, mNew);
      float v = sf.round(expAvgSq.get(i) * b2);
      float vNew = v + (c2 * g) * g;
      expAvgSq.set(i, vNew);
      float sq = sf.round((float) Math.sqrt(expAvgSq.get(i)));
      float scaled = sf.round(sq / bc2Sqrt);
      float dNew = scaled + epsF;
      float d = sf.round(dNew);
      float pNew = p + (negStepSize * expAvg.get(i)) / d;
      param.set(i, pNew);
      u[0][i] = mNew;
      u[1][i] = vNew;
      u[2][i] = dNew;
      u[3][i] = pNew;
    }
    return u;
  }

  @Test
  void adamBlocksEqualTheElementLoop() {
    SplittableRandom rnd = new SplittableRandom(11);
    for (FloatFormat pf : FORMATS) {
      for (FloatFormat sf : FORMATS) {
        for (double wd : new double[] {0, 0.01}) {
          for (double beta1 : new double[] {0.9, 0.2}) { // both branches of torch's lerp
            for (int n : SIZES) {
              Tensor p0 = random(pf, n, rnd);
              Tensor pRef = p0.copy(), pA = p0.copy();
              Tensor m = Tensor.zeros(sf, p0.shape()), v = Tensor.zeros(sf, p0.shape());
              Adam adam = new Adam(0.05, beta1, 0.999, 1e-8, wd, sf);
              for (int step = 1; step <= 3; step++) {
                Tensor g = random(pf, n, rnd);
                Collect c = new Collect();
                adam.step(List.of(new ParamGrad("w", pA, g)), step == 2 ? c : Tracer.NONE);
                float[][] u = adamReference(pRef, g, m, v, step, 0.05, beta1, 0.999, 1e-8, wd, sf);
                String what =
                    pf + "/" + sf + " wd=" + wd + " b1=" + beta1 + " n=" + n + " step " + step;
                assertThat(bytes(pA)).as(what).isEqualTo(bytes(pRef));
                assertThat(bytes(adam.state("w").expAvg())).as(what).isEqualTo(bytes(m));
                assertThat(bytes(adam.state("w").expAvgSq())).as(what).isEqualTo(bytes(v));
                if (step == 2) {
                  assertThat(c.records).hasSize(4);
                  for (int r = 0; r < 4; r++) {
                    Tensor want = Tensor.of(FloatFormat.FP32, Shape.of(n), u[r]);
                    Tensor got = c.records.get(r).unrounded();
                    if (got
                        != null) { // reported only where the stored format is narrower than FP32
                      assertThat(bytes(got)).as(what + " record " + r).isEqualTo(bytes(want));
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  @Test
  void sgdBlocksEqualTheElementLoop() {
    SplittableRandom rnd = new SplittableRandom(12);
    for (FloatFormat pf : FORMATS) {
      for (FloatFormat sf : FORMATS) {
        for (boolean nesterov : new boolean[] {false, true}) {
          for (double momentum : nesterov ? new double[] {0.9} : new double[] {0, 0.9}) {
            for (int n : SIZES) {
              Tensor p0 = random(pf, n, rnd);
              Tensor pRef = p0.copy(), pS = p0.copy();
              Tensor buf = null;
              Sgd sgd = new Sgd(0.1, momentum, 0, 0.01, nesterov, sf);
              for (int step = 1; step <= 3; step++) {
                Tensor g = random(pf, n, rnd);
                sgd.step(List.of(new ParamGrad("w", pS, g)), Tracer.NONE);
                // the element loop
                FloatFormat gf = g.format();
                boolean first = false;
                if (momentum != 0 && buf == null) {
                  buf = Tensor.zeros(sf, p0.shape());
                  first = true;
                }
                for (int i = 0; i < n; i++) {
                  float p = pRef.get(i);
                  float gi = gf.round(g.get(i) + 0.01f * p);
                  if (buf != null) {
                    float b = first ? gi : sf.round(buf.get(i) * (float) momentum) + 1f * gi;
                    buf.set(i, b);
                    gi = nesterov ? gf.round(gi + (float) momentum * buf.get(i)) : buf.get(i);
                  }
                  pRef.set(i, p + -0.1f * gi);
                }
                String what =
                    pf + "/" + sf + " nesterov=" + nesterov + " mu=" + momentum + " n=" + n;
                assertThat(bytes(pS)).as(what).isEqualTo(bytes(pRef));
                if (buf != null) {
                  assertThat(bytes(sgd.momentumBuffer("w"))).as(what).isEqualTo(bytes(buf));
                }
              }
            }
          }
        }
      }
    }
  }

  @Test
  void unscaleBlocksEqualTheElementLoop() {
    SplittableRandom rnd = new SplittableRandom(13);
    for (FloatFormat gf : FORMATS) {
      for (int n : SIZES) {
        Tensor g = random(gf, n, rnd);
        Tensor ref = g.copy();
        LossScaler s = new LossScaler(1024f, 2.0, 0.5, 2000, true);
        boolean found = s.unscale(List.of(new ParamGrad("w", Tensor.zeros(gf, g.shape()), g)));
        float inv = s.inverseScale();
        boolean want = false;
        for (int i = 0; i < n; i++) {
          float v = ref.get(i);
          want |= !Float.isFinite(v);
          ref.set(i, v * inv);
        }
        assertThat(found).as("%s n=%d", gf, n).isEqualTo(want);
        assertThat(bytes(g)).as("%s n=%d", gf, n).isEqualTo(bytes(ref));
      }
    }
  }
}
