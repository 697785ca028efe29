package io.nanscope.engine.autograd;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;
import io.nanscope.engine.trace.Tracer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Stochastic gradient descent as {@code torch.optim.SGD} computes it on its single-tensor path
 * (not maximising). Per element:
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
 * FP32 and rounds once to the state format (b), the grad's format (g) or the parameter's (p).
 * Trace sites (phase OPTIMIZER): {@code sgd.<name>.momentum_buffer} and {@code sgd.<name>}.
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
      throw new IllegalArgumentException("Invalid weight_decay value: " + weightDecay + " (must be >= 0)");
    }
    if (nesterov && (momentum <= 0 || dampening != 0)) {
      throw new IllegalArgumentException("Nesterov momentum requires a momentum and zero dampening");
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
    for (long i = 0; i < n; i++) {
      float p = param.get(i);
      float g = grad.get(i);
      if (weightDecay != 0) {
        g = gf.round(g + wd * p);
      }
      if (buf != null) {
        float b;
        if (first) {
          b = g;
        } else {
          b = sf.round(buf.get(i) * mu) + keep * g;
        }
        buf.set(i, b);
        if (trace) {
          bU[(int) i] = b;
        }
        g = nesterov ? gf.round(g + mu * buf.get(i)) : buf.get(i);
      }
      float pNew = p + negLr * g;
      param.set(i, pNew);
      if (trace) {
        pU[(int) i] = pNew;
      }
    }
    if (trace) {
      Site site = Site.of("sgd", pg.name());
      if (buf != null) {
        OptimizerRecords.report(tracer, site.child("momentum_buffer"), "mul_add",
            bBefore == null ? List.of(grad) : List.of(grad, bBefore), buf, bU, step);
      }
      OptimizerRecords.report(tracer, site, "add", List.of(pBefore, grad), param, pU, step);
    }
  }
}
