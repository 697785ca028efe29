package io.nanscope.engine.autograd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.Tracer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Stochastic gradient descent as {@code torch.optim.SGD} computes it on its single-tensor path (not
 * maximising). Per element:
 *
 * <pre>
 *   g = g + wd·p                                  (grad.add(param, alpha=wd), in the grad's format)
 *   b = g                       at the first step (torch.clone(grad), stored in the state format)
 *   b = b·μ;  b = b + (1−τ)·g   afterwards        (buf.mul_(μ).add_(grad, alpha=1−τ))
 *   g = g + μ·b  if nesterov,  else  g = b
 *   p = p + (−lr)·g                               (param.add_(grad, alpha=−lr))
 * </pre>
 *
 * with μ = momentum and τ = dampening; without momentum there is no state. Every kernel computes in
 * FP32 and rounds once to the state format (b), the grad's format (g) or the parameter's (p). Trace
 * sites (phase OPTIMIZER): {@code sgd.<name>.momentum_buffer} and {@code sgd.<name>}.
 */
public final class Sgd extends ElementwiseOptimizer {

  private final double lr;
  private final double momentum;
  private final double dampening;
  private final double weightDecay;
  private final boolean nesterov;
  private final Map<String, Tensor> buffers = new HashMap<>();
  private final Map<String, Integer> steps = new HashMap<>();

  /** Plain SGD: no momentum, no weight decay. */
  public Sgd(double lr) {
    this(lr, 0, 0, 0, false, FloatFormat.FP32);
  }

  /** Every hyperparameter, validated as torch.optim.SGD does. */
  public Sgd(
      double lr,
      double momentum,
      double dampening,
      double weightDecay,
      boolean nesterov,
      FloatFormat stateFormat) {
    super(stateFormat, "SGD");
    if (!(lr >= 0)) {
      throw new IllegalArgumentException("Invalid learning rate: " + lr + " (must be >= 0)");
    }
    if (!(momentum >= 0)) {
      throw new IllegalArgumentException("Invalid momentum value: " + momentum + " (must be >= 0)");
    }
    if (!(weightDecay >= 0)) {
      throw new IllegalArgumentException(
          "Invalid weight_decay value: " + weightDecay + " (must be >= 0)");
    }
    if (nesterov && (momentum <= 0 || dampening != 0)) {
      throw new IllegalArgumentException(
          "Nesterov momentum requires a momentum and zero dampening");
    }
    this.lr = lr;
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }

  /** The momentum buffer of a parameter (live tensor: do not modify), or null. */
  public Tensor momentumBuffer(String name) {
    return buffers.get(name);
  }

  /** Elements per block of the update. */
  private static final int CHUNK = 4096;

  @Override
  void step(ParamGrad pg, Tracer tracer) {
    Tensor param = pg.param();
    Tensor grad = pg.grad();
    FloatFormat gf = grad.format();
    FloatFormat sf = stateFormat();
    int step = steps.merge(pg.name(), 1, Integer::sum);
    Tensor buf = null;
    boolean first = false;
    if (momentum != 0) {
      buf = buffers.get(pg.name());
      if (buf == null) {
        buf = Tensor.zeros(sf, param.shape());
        buffers.put(pg.name(), buf);
        first = true;
      } else {
        requireSameShape(pg, buf.shape());
      }
    }
    float wd = (float) weightDecay;
    float mu = (float) momentum;
    float keep = (float) (1 - dampening);
    float negLr = (float) -lr;

    boolean trace = tracer.enabled();
    Tensor bBefore = trace && buf != null ? buf.copy() : null;
    Tensor pBefore = trace ? param.copy() : null;
    int ni = trace ? Math.toIntExact(param.size()) : 0;
    float[] bU = trace && buf != null ? new float[ni] : null;
    float[] pU = trace ? new float[ni] : null;

    long n = param.size();
    // In blocks: the per-element steps of the loop they replace, each rounding in bulk
    // (roundInPlace = format.round per element = Tensor.set then get).
    Tensor pFlat = Adam.flat(param),
        gFlat = Adam.flat(grad),
        bFlat = buf == null ? null : Adam.flat(buf);
    for (long from = 0; from < n; from += CHUNK) {
      int len = (int) Math.min(CHUNK, n - from);
      Tensor pv = pFlat.slice(from, from + len);
      float[] p = pv.toFloatArray(), g = gFlat.slice(from, from + len).toFloatArray();
      if (weightDecay != 0) {
        for (int k = 0; k < len; k++) {
          g[k] = g[k] + wd * p[k];
        }
        gf.roundInPlace(g, 0, len);
      }
      if (bFlat != null) {
        Tensor bv = bFlat.slice(from, from + len);
        float[] b;
        if (first) {
          b = g.clone();
        } else {
          b = bv.toFloatArray();
          for (int k = 0; k < len; k++) {
            b[k] = b[k] * mu;
          }
          sf.roundInPlace(b, 0, len);
          for (int k = 0; k < len; k++) {
            b[k] = b[k] + keep * g[k];
          }
        }
        if (trace) {
          System.arraycopy(b, 0, bU, (int) from, len);
        }
        sf.roundInPlace(b, 0, len); // the stored buffer
        bv.copyFrom(b);
        if (nesterov) {
          for (int k = 0; k < len; k++) {
            g[k] = g[k] + mu * b[k];
          }
          gf.roundInPlace(g, 0, len);
        } else {
          g = b;
        }
      }
      for (int k = 0; k < len; k++) {
        p[k] = p[k] + negLr * g[k];
      }
      if (trace) {
        System.arraycopy(p, 0, pU, (int) from, len);
      }
      pv.copyFrom(p);
    }
    if (trace) {
      Site site = Site.of("sgd", pg.name());
      if (buf != null) {
        OptimizerRecords.report(
            tracer,
            site.child("momentum_buffer"),
            "mul_add",
            bBefore == null ? List.of(grad) : List.of(grad, bBefore),
            buf,
            bU,
            step);
      }
      OptimizerRecords.report(tracer, site, "add", List.of(pBefore, grad), param, pU, step);
    }
  }
}
