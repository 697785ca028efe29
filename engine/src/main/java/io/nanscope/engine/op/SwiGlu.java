package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.simd.ElementwiseKernels;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * SwiGLU gating {@code h = silu(g) ⊙ u} (Shazeer 2020, "GLU Variants Improve Transformer"; HF
 * {@code act_fn(gate_proj(x)) * up_proj(x)}).
 *
 * <p>Shapes: g (gate), u (up), h: (T, F).
 *
 * <p>Precision: {@code silu(g)} is computed in {@code compute} and rounded to {@code output} (HF
 * materialises it as a tensor of the storage dtype), then the product is rounded to {@code output}:
 * in FP16, {@code 255.875 · 261.75 = 66975 > 65504} overflows here, before {@code down_proj}.
 *
 * <p>Backward: with {@code s = silu(g)}, {@code dU = dH ⊙ s} and {@code dG = dH ⊙ u ⊙ silu'(g)},
 * {@code silu'(g) = σ(g)·(1 + g·(1−σ(g)))}.
 */
public final class SwiGlu {

  private SwiGlu() {}

  /**
   * The FP32 row kernel of SwiGLU, shared by the op's float path (FP32 output) and llama's FP32
   * decode step: {@code h[ho+i] = silu(g[go+i])·u[uo+i]}, {@link Silu#rowFp32} then the FP32
   * product. h may be the row g or u; {@code scratch} holds n floats and aliases none of them.
   */
  public static void rowFp32(
      float[] g, int go, float[] u, int uo, float[] h, int ho, int n, float[] scratch) {
    Silu.rowFp32(g, go, h, ho, n, scratch);
    ElementwiseKernels.mul(h, ho, u, uo, h, ho, n);
  }

  /** Scalar twin of {@link #rowFp32} (the same bits). */
  public static void rowFp32Scalar(float[] g, int go, float[] u, int uo, float[] h, int ho, int n) {
    Silu.rowFp32Scalar(g, go, h, ho, n);
    ElementwiseKernels.mulScalar(h, ho, u, uo, h, ho, n);
  }

  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor g, Tensor u) {
    Emit.sameShape("swiglu at " + site, "gate", g, "up", u);
    if (Emit.floatPath(p, g, u)) {
      float[] s = g.toFloatArray(), uv = u.toFloatArray(), scratch = new float[s.length];
      if (p.output() == FloatFormat.FP32 && p.rounding().isIeeeDefault()) {
        rowFp32(s, 0, uv, 0, s, 0, s.length, scratch); // silu(g) stays FP32
      } else {
        Silu.rowFp32(s, 0, s, 0, s.length, scratch);
        Emit.roundOutput(p, s, 0, s.length, 0); // silu(g) materialised in the output format
        ElementwiseKernels.mul(s, 0, uv, 0, s, 0, s.length);
      }
      return Emit.output(ctx, site, "swiglu", Phase.FORWARD, p, g.shape(), s, g, u);
    }
    return forwardDoubles(ctx, site, p, g, u);
  }

  /** The double path of {@link #forward} (any precision; the float path's oracle in the tests). */
  static Tensor forwardDoubles(OpContext ctx, Site site, Precision p, Tensor g, Tensor u) {
    double[] gv = g.toDoubleArray(), uv = u.toDoubleArray();
    for (int i = 0; i < gv.length; i++) {
      double s = p.roundOutput(Silu.silu(p, gv[i]), i);
      gv[i] = p.roundCompute(s * uv[i]);
    }
    return Emit.output(ctx, site, "swiglu", Phase.FORWARD, p, g.shape(), gv, g, u);
  }

  /** dG = dH ⊙ u ⊙ silu'(g), rounded to {@code format}. */
  public static Tensor backwardGate(
      OpContext ctx, Site site, Precision p, Tensor dh, Tensor g, Tensor u, FloatFormat format) {
    if (Emit.floatPath(p, format, dh, g, u)) {
      float[] d = dh.toFloatArray(), s = g.toFloatArray();
      ElementwiseKernels.mul(d, 0, u.toFloatArray(), 0, d, 0, d.length);
      Silu.siluDerivative(s, s, s.length);
      ElementwiseKernels.mul(d, 0, s, 0, d, 0, d.length);
      return Emit.output(ctx, site, "swiglu.dgate", Phase.BACKWARD, format, g.shape(), d, dh, g, u);
    }
    return backwardGateDoubles(ctx, site, p, dh, g, u, format);
  }

  static Tensor backwardGateDoubles(
      OpContext ctx, Site site, Precision p, Tensor dh, Tensor g, Tensor u, FloatFormat format) {
    double[] d = dh.toDoubleArray(), gv = g.toDoubleArray(), uv = u.toDoubleArray();
    for (int i = 0; i < d.length; i++) {
      d[i] = p.roundCompute(p.roundCompute(d[i] * uv[i]) * Silu.siluDerivative(p, gv[i]));
    }
    return Emit.output(ctx, site, "swiglu.dgate", Phase.BACKWARD, format, g.shape(), d, dh, g, u);
  }

  /** dU = dH ⊙ silu(g), rounded to {@code format}. */
  public static Tensor backwardUp(
      OpContext ctx, Site site, Precision p, Tensor dh, Tensor g, FloatFormat format) {
    if (Emit.floatPath(p, format, dh, g) && Emit.roundsFromFloat(p.output())) {
      float[] d = dh.toFloatArray(), s = g.toFloatArray();
      ElementwiseKernels.silu(s, 0, s, 0, s.length, new float[s.length]);
      Emit.roundOutput(p, s, 0, s.length, 0);
      ElementwiseKernels.mul(d, 0, s, 0, d, 0, d.length);
      return Emit.output(ctx, site, "swiglu.dup", Phase.BACKWARD, format, g.shape(), d, dh, g);
    }
    return backwardUpDoubles(ctx, site, p, dh, g, format);
  }

  static Tensor backwardUpDoubles(
      OpContext ctx, Site site, Precision p, Tensor dh, Tensor g, FloatFormat format) {
    double[] d = dh.toDoubleArray(), gv = g.toDoubleArray();
    for (int i = 0; i < d.length; i++) {
      d[i] = p.roundCompute(d[i] * p.roundOutput(Silu.silu(p, gv[i]), i));
    }
    return Emit.output(ctx, site, "swiglu.dup", Phase.BACKWARD, format, g.shape(), d, dh, g);
  }

  public static Var apply(Tape tape, OpContext ctx, Site site, Precision p, Var g, Var u) {
    Tensor h = forward(ctx, site, p, g.value(), u.value());
    return tape.record(
        "swiglu@" + site,
        h,
        (dh, needs) ->
            new Tensor[] {
              needs[0]
                  ? backwardGate(ctx, site, p, dh, g.value(), u.value(), g.gradFormat())
                  : null,
              needs[1] ? backwardUp(ctx, site, p, dh, g.value(), u.gradFormat()) : null
            },
        g,
        u);
  }
}
