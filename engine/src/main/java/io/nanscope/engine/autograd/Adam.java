package io.nanscope.engine.autograd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.Tracer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam (Kingma &amp; Ba 2015, Algorithm 1) exactly as {@code torch.optim.Adam} computes it on its
 * single-tensor path (non-amsgrad, non-fused, not maximising), with PyTorch's defaults lr = 1e-3,
 * betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0. Per element, with t the parameter's step:
 *
 * <pre>
 *   g  = g + wd·p                               (grad.add(param, alpha=wd), in the grad's format)
 *   m  = m + (1−β1)·(g − m)                     (exp_avg.lerp_(grad, 1−β1))
 *   v  = v·β2;  v = v + ((1−β2)·g)·g            (exp_avg_sq.mul_(β2).addcmul_(grad, grad, 1−β2))
 *   d  = sqrt(v) / sqrt(1 − β2^t) + eps         (three kernels: sqrt, div, add_)
 *   p  = p + ((−lr / (1 − β1^t))·m) / d         (param.addcdiv_(exp_avg, denom, value=−step_size))
 * </pre>
 *
 * Bias corrections and step size are computed in double (Python floats), then used as FP32 scalars;
 * every kernel computes in FP32 from decoded values and rounds its result once to the state format
 * (m, v, each stage of d) or the parameter's format (p), as PyTorch's CPU kernels do for
 * half/bfloat16 through their FP32 "opmath". PyTorch's vectorised kernels may contract {@code a +
 * b·c} into an FMA, so single FP32 results can differ from PyTorch's by an ulp.
 *
 * <p>With FP16 state, eps = 1e-8 rounds to 0 (FP16's smallest subnormal is 2^−24 ≈ 5.96e−8): where
 * v underflowed to 0, d = 0 and the update is m/0 = ±inf or 0/0 = NaN. That is the classic "Adam in
 * pure fp16" failure, reported by the tracer at site {@code adam.<name>}.
 *
 * <p>Trace sites (phase OPTIMIZER), only when the tracer is enabled: {@code adam.<name>.exp_avg},
 * {@code adam.<name>.exp_avg_sq}, {@code adam.<name>.denom}, and {@code adam.<name>} for the
 * parameter update, each with its unrounded FP32 values.
 */
public final class Adam extends ElementwiseOptimizer {

  /** The per-parameter state: step count and the two moments, in the state format. */
  public record State(int step, Tensor expAvg, Tensor expAvgSq) {}

  private final double lr;
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double weightDecay;
  private final Map<String, MutableState> state = new HashMap<>();

  private static final class MutableState {
    int step;
    final Tensor expAvg;
    final Tensor expAvgSq;

    MutableState(Tensor expAvg, Tensor expAvgSq) {
      this.expAvg = expAvg;
      this.expAvgSq = expAvgSq;
    }
  }

  /** PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay). */
  public Adam(FloatFormat stateFormat) {
    this(1e-3, 0.9, 0.999, 1e-8, 0.0, stateFormat);
  }

  /** PyTorch's defaults with another learning rate. */
  public Adam(double lr, FloatFormat stateFormat) {
    this(lr, 0.9, 0.999, 1e-8, 0.0, stateFormat);
  }

  /** Every hyperparameter, validated as torch.optim.Adam does. */
  public Adam(
      double lr,
      double beta1,
      double beta2,
      double eps,
      double weightDecay,
      FloatFormat stateFormat) {
    super(stateFormat, "Adam");
    if (!(lr >= 0)) {
      throw new IllegalArgumentException("Invalid learning rate: " + lr + " (must be >= 0)");
    }
    if (!(eps >= 0)) {
      throw new IllegalArgumentException("Invalid epsilon value: " + eps + " (must be >= 0)");
    }
    if (!(beta1 >= 0 && beta1 < 1)) {
      throw new IllegalArgumentException(
          "Invalid beta parameter at index 0: " + beta1 + " (needs [0, 1))");
    }
    if (!(beta2 >= 0 && beta2 < 1)) {
      throw new IllegalArgumentException(
          "Invalid beta parameter at index 1: " + beta2 + " (needs [0, 1))");
    }
    if (!(weightDecay >= 0)) {
      throw new IllegalArgumentException(
          "Invalid weight_decay value: " + weightDecay + " (must be >= 0)");
    }
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  /** The state of a parameter after its last step (live tensors: do not modify), or null. */
  public State state(String name) {
    MutableState s = state.get(name);
    return s == null ? null : new State(s.step, s.expAvg, s.expAvgSq);
  }

  /** Elements per block of the update (16 KB per FP32 array). */
  private static final int CHUNK = 4096;

  /** The tensor as one axis (a view), so blocks are slices. */
  static Tensor flat(Tensor t) {
    return t.reshape(Shape.of(t.size()));
  }

  @Override
  void step(ParamGrad pg, Tracer tracer) {
    Tensor param = pg.param();
    Tensor grad = pg.grad();
    FloatFormat gf = grad.format();
    FloatFormat sf = stateFormat();
    MutableState s =
        state.computeIfAbsent(
            pg.name(),
            k ->
                new MutableState(Tensor.zeros(sf, param.shape()), Tensor.zeros(sf, param.shape())));
    requireSameShape(pg, s.expAvg.shape());
    s.step++;
    // Python-float scalars, then FP32 as the kernels see them.
    double bc1 = 1 - Math.pow(beta1, s.step);
    double bc2 = 1 - Math.pow(beta2, s.step);
    float negStepSize = (float) -(lr / bc1);
    float bc2Sqrt = (float) Math.sqrt(bc2);
    float w1 = (float) (1 - beta1);
    float b2 = (float) beta2;
    float c2 = (float) (1 - beta2);
    float epsF = (float) eps;
    float wd = (float) weightDecay;

    boolean trace = tracer.enabled();
    Tensor mBefore = trace ? s.expAvg.copy() : null;
    Tensor vBefore = trace ? s.expAvgSq.copy() : null;
    Tensor pBefore = trace ? param.copy() : null;
    long n = param.size();
    int ni = trace ? Math.toIntExact(n) : 0;
    float[] mU = trace ? new float[ni] : null;
    float[] vU = trace ? new float[ni] : null;
    float[] dU = trace ? new float[ni] : null;
    float[] pU = trace ? new float[ni] : null;
    Tensor denom = trace ? Tensor.zeros(sf, param.shape()) : null;

    // In blocks of CHUNK elements: decode, the per-element steps of the loop they replace (each
    // element alone, the same float operations in the same order), each rounding in bulk
    // (roundInPlace = format.round per element = Tensor.set then get), encode.
    Tensor pFlat = flat(param),
        gFlat = flat(grad),
        mFlat = flat(s.expAvg),
        vFlat = flat(s.expAvgSq);
    boolean smallW1 = Math.abs(w1) < 0.5f;
    for (long from = 0; from < n; from += CHUNK) {
      int len = (int) Math.min(CHUNK, n - from);
      Tensor pv = pFlat.slice(from, from + len), mv = mFlat.slice(from, from + len);
      Tensor vv = vFlat.slice(from, from + len);
      float[] p = pv.toFloatArray(), g = gFlat.slice(from, from + len).toFloatArray();
      float[] m = mv.toFloatArray(), v = vv.toFloatArray();
      if (weightDecay != 0) {
        for (int k = 0; k < len; k++) {
          g[k] = g[k] + wd * p[k];
        }
        gf.roundInPlace(g, 0, len);
      }
      for (int k = 0; k < len; k++) { // torch lerp: m becomes the unrounded new exp_avg
        float gk = g[k], mk = m[k];
        m[k] = smallW1 ? mk + w1 * (gk - mk) : gk - (gk - mk) * (1 - w1);
      }
      if (trace) {
        System.arraycopy(m, 0, mU, (int) from, len);
      }
      sf.roundInPlace(m, 0, len); // stored exp_avg
      for (int k = 0; k < len; k++) {
        v[k] = v[k] * b2;
      }
      sf.roundInPlace(v, 0, len);
      for (int k = 0; k < len; k++) {
        v[k] = v[k] + (c2 * g[k]) * g[k];
      }
      if (trace) {
        System.arraycopy(v, 0, vU, (int) from, len);
      }
      sf.roundInPlace(v, 0, len); // stored exp_avg_sq
      float[] d = new float[len];
      for (int k = 0; k < len; k++) {
        d[k] = (float) Math.sqrt(v[k]);
      }
      sf.roundInPlace(d, 0, len);
      for (int k = 0; k < len; k++) {
        d[k] = d[k] / bc2Sqrt;
      }
      sf.roundInPlace(d, 0, len);
      for (int k = 0; k < len; k++) {
        d[k] = d[k] + epsF;
      }
      if (trace) {
        System.arraycopy(d, 0, dU, (int) from, len);
      }
      sf.roundInPlace(d, 0, len); // denom
      for (int k = 0; k < len; k++) {
        p[k] = p[k] + (negStepSize * m[k]) / d[k];
      }
      if (trace) {
        System.arraycopy(p, 0, pU, (int) from, len);
        flat(denom).slice(from, from + len).copyFrom(d);
      }
      mv.copyFrom(m); // already rounded: storing rounds again to the same value
      vv.copyFrom(v);
      pv.copyFrom(p);
    }
    if (trace) {
      Site site = Site.of("adam", pg.name());
      OptimizerRecords.report(
          tracer, site.child("exp_avg"), "lerp", List.of(grad, mBefore), s.expAvg, mU, s.step);
      OptimizerRecords.report(
          tracer,
          site.child("exp_avg_sq"),
          "mul_addcmul",
          List.of(grad, vBefore),
          s.expAvgSq,
          vU,
          s.step);
      OptimizerRecords.report(
          tracer, site.child("denom"), "sqrt_div_add", List.of(s.expAvgSq), denom, dU, s.step);
      OptimizerRecords.report(
          tracer, site, "addcdiv", List.of(pBefore, s.expAvg, denom), param, pU, s.step);
    }
  }
}
