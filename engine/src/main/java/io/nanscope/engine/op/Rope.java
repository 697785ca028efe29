package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Rotary position embedding (Su et al. 2021, RoFormer eq. 34): each pair (a, b) of a head's
 * coordinates is rotated by {@code θ_i·pos}, {@code θ_i = base^{−2i/D}}: {@code a' = a·cos −
 * b·sin}, {@code b' = b·cos + a·sin}.
 *
 * <p>Two pairings of the same rotation ({@link Layout}): Meta/llama2.c pairs adjacent coordinates
 * (2i, 2i+1); HF {@code rotate_half} pairs (i, i + D/2). Checkpoints converted to HF have their q/k
 * rows permuted so both give the same model.
 *
 * <p>Shapes: x, y: (T, H·D) (H heads of D, D even); positions: (T).
 *
 * <p>Precision: the angle in FP32 (FP64 when compute is FP64), as HF's {@code inv_freq} and
 * llama2.c's {@code powf}; cos and sin rounded to {@code compute} (HF casts them to the tensor's
 * dtype); each product and the sum in {@code compute}; output rounded once.
 *
 * <p>Backward: a rotation's transpose is the rotation by −angle: {@code da = da'·cos + db'·sin},
 * {@code db = −da'·sin + db'·cos}.
 */
public final class Rope {

  private Rope() {}

  /** Which coordinates form a rotated pair. */
  public enum Layout {
    /** Meta / llama2.c: (2i, 2i+1). */
    INTERLEAVED,
    /** HF {@code rotate_half}: (i, i + D/2). */
    HALF
  }

  /** The rotation: {@code forward} true for +angle, false for its transpose (the backward). */
  private static double[] rotate(
      Precision p,
      double[] x,
      int heads,
      int[] positions,
      double base,
      Layout layout,
      boolean forward) {
    int t = positions.length;
    int hd = x.length / Math.max(1, t);
    int d = hd / heads;
    FloatFormat af = p.compute() == FloatFormat.FP64 ? FloatFormat.FP64 : FloatFormat.FP32;
    double[] y = new double[x.length];
    for (int r = 0; r < t; r++) {
      for (int i = 0; i < d / 2; i++) {
        double invFreq =
            Precision.round(
                af, 1.0 / Precision.round(af, Math.pow(base, Precision.round(af, (2.0 * i) / d))));
        double angle = Precision.round(af, positions[r] * invFreq);
        double c = p.roundCompute(Math.cos(angle));
        double s = p.roundCompute(forward ? Math.sin(angle) : -Math.sin(angle));
        for (int h = 0; h < heads; h++) {
          int ia = r * hd + h * d + (layout == Layout.INTERLEAVED ? 2 * i : i);
          int ib = layout == Layout.INTERLEAVED ? ia + 1 : ia + d / 2;
          double a = x[ia], b = x[ib];
          y[ia] = p.roundCompute(p.roundCompute(a * c) - p.roundCompute(b * s));
          y[ib] = p.roundCompute(p.roundCompute(b * c) + p.roundCompute(a * s));
        }
      }
    }
    return y;
  }

  /**
   * θ_i = base^{−2i/D} for i &lt; D/2 with every step rounded to FP32, as {@link #rotate} computes
   * them for compute FP32 (HF's {@code inv_freq}, llama2.c's {@code powf}).
   */
  public static float[] inverseFrequenciesFp32(double base, int d) {
    float[] invFreq = new float[d / 2];
    for (int i = 0; i < d / 2; i++) {
      float e = (float) ((2.0 * i) / d);
      invFreq[i] = (float) (1.0 / (float) Math.pow(base, e));
    }
    return invFreq;
  }

  /**
   * {@code cos[i], sin[i]} of the FP32 angle {@code pos·θ_i}, each rounded to FP32: the table
   * {@link #rotateFp32} reads for one position (the decode step builds it once per position).
   */
  public static void anglesFp32(int pos, float[] invFreq, float[] cos, float[] sin) {
    for (int i = 0; i < invFreq.length; i++) {
      float angle = (float) (pos * (double) invFreq[i]);
      cos[i] = (float) Math.cos(angle);
      sin[i] = (float) Math.sin(angle);
    }
  }

  /**
   * The FP32 row kernel of RoPE, shared by the op's FP32 path and llama's FP32 decode step: each of
   * the {@code heads} heads of {@code d} in the row {@code x[xo …]} rotated by the table of {@link
   * #anglesFp32}, {@code a' = a·c − b·s}, {@code b' = b·c + a·s} in FP32, into {@code y[yo …]} (x
   * and y may be the same row: each pair is read before it is written). The backward passes the
   * table with −sin. Scalar: two products and a sum per element, nothing to vectorise across the
   * strided pairs of the interleaved layout.
   */
  public static void rotateFp32(
      float[] x,
      int xo,
      float[] y,
      int yo,
      int heads,
      int d,
      Layout layout,
      float[] cos,
      float[] sin) {
    int half = d / 2;
    boolean interleaved = layout == Layout.INTERLEAVED;
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < half; i++) {
        int ja = h * d + (interleaved ? 2 * i : i);
        int jb = interleaved ? ja + 1 : ja + half;
        float a = x[xo + ja], b = x[xo + jb], c = cos[i], s = sin[i];
        y[yo + ja] = a * c - b * s;
        y[yo + jb] = b * c + a * s;
      }
    }
  }

  /**
   * {@link #rotate} on floats, for compute FP32 (every input a float), or compute FP16/BF16 with x
   * stored in the compute format. The angles, cos and sin are computed exactly as there (double,
   * rounded once to the compute format). FP32: each product and the sum are FP32 operations on
   * floats, equal to the double path's rounded doubles (see {@code ElementwiseKernels}). 16-bit
   * compute: both factors of each product are compute-format values, so the product is exact in
   * FP32 (FP16: 22 significant bits, never below 2^-48; BF16: 16 bits, and where it falls below
   * FP32's normal range any inexact FP32 rounding happens under 2^-134, where BF16 rounds to ±0
   * either way); the sum of two compute-format values is rounded to FP32 and then to the compute
   * format, which equals the single rounding because 24 ≥ 2p + 2 (p = 11, 8; Figueroa 1995).
   */
  private static float[] rotateFloats(
      Precision p,
      float[] x,
      int heads,
      int[] positions,
      double base,
      Layout layout,
      boolean forward) {
    int t = positions.length;
    int hd = x.length / Math.max(1, t);
    int d = hd / heads;
    FloatFormat cf = p.compute();
    boolean narrow = cf != FloatFormat.FP32;
    FloatFormat af = FloatFormat.FP32;
    float[] y = new float[x.length];
    if (!narrow) { // compute FP32: the row kernel, the same angles and the same operations
      float[] invFreq = inverseFrequenciesFp32(base, d), cos = new float[d / 2];
      float[] sin = new float[d / 2];
      for (int r = 0; r < t; r++) {
        anglesFp32(positions[r], invFreq, cos, sin);
        if (!forward) {
          for (int i = 0; i < sin.length; i++) {
            sin[i] = -sin[i]; // (float) −Math.sin(angle): rounding is symmetric
          }
        }
        rotateFp32(x, r * hd, y, r * hd, heads, d, layout, cos, sin);
      }
      return y;
    }
    for (int r = 0; r < t; r++) {
      for (int i = 0; i < d / 2; i++) {
        double invFreq =
            Precision.round(
                af, 1.0 / Precision.round(af, Math.pow(base, Precision.round(af, (2.0 * i) / d))));
        double angle = Precision.round(af, positions[r] * invFreq);
        float c = (float) p.roundCompute(Math.cos(angle));
        float s = (float) p.roundCompute(forward ? Math.sin(angle) : -Math.sin(angle));
        for (int h = 0; h < heads; h++) {
          int ia = r * hd + h * d + (layout == Layout.INTERLEAVED ? 2 * i : i);
          int ib = layout == Layout.INTERLEAVED ? ia + 1 : ia + d / 2;
          float a = x[ia], b = x[ib];
          y[ia] = cf.round(cf.round(a * c) - cf.round(b * s));
          y[ib] = cf.round(cf.round(b * c) + cf.round(a * s));
        }
      }
    }
    return y;
  }

  /**
   * Whether {@link #rotateFloats} gives the double path's bits for this precision, input and output
   * format.
   */
  private static boolean floatPath(Precision p, Tensor x, FloatFormat out) {
    FloatFormat cf = p.compute();
    if (cf == FloatFormat.FP32) {
      return Emit.floatPath(p, out, x);
    }
    return (cf == FloatFormat.FP16 || cf == FloatFormat.BF16)
        && x.format() == cf
        && Emit.roundsFromFloat(out);
  }

  private static void check(Site site, Tensor x, int heads, int[] positions) {
    long t = x.shape().rows(), hd = x.shape().cols();
    Emit.check(
        t == positions.length,
        "rope at " + site + ": " + positions.length + " positions for " + t + " rows");
    Emit.check(
        heads > 0 && hd % heads == 0 && (hd / heads) % 2 == 0,
        "rope at "
            + site
            + ": rows of "
            + hd
            + " do not split into "
            + heads
            + " heads of even size");
  }

  public static Tensor forward(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor x,
      int heads,
      int[] positions,
      double base,
      Layout layout) {
    check(site, x, heads, positions);
    if (floatPath(p, x, p.output())) {
      float[] y = rotateFloats(p, x.toFloatArray(), heads, positions, base, layout, true);
      return Emit.output(ctx, site, "rope", Phase.FORWARD, p, x.shape(), y, x);
    }
    return forwardDoubles(ctx, site, p, x, heads, positions, base, layout);
  }

  /** The double path of {@link #forward} (any precision; the float path's oracle in the tests). */
  static Tensor forwardDoubles(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor x,
      int heads,
      int[] positions,
      double base,
      Layout layout) {
    check(site, x, heads, positions);
    double[] y = rotate(p, x.toDoubleArray(), heads, positions, base, layout, true);
    return Emit.output(ctx, site, "rope", Phase.FORWARD, p, x.shape(), y, x);
  }

  public static Tensor backward(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dy,
      int heads,
      int[] positions,
      double base,
      Layout layout,
      FloatFormat format) {
    if (floatPath(p, dy, format)) {
      float[] dx = rotateFloats(p, dy.toFloatArray(), heads, positions, base, layout, false);
      return Emit.output(ctx, site, "rope.grad", Phase.BACKWARD, format, dy.shape(), dx, dy);
    }
    return backwardDoubles(ctx, site, p, dy, heads, positions, base, layout, format);
  }

  static Tensor backwardDoubles(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dy,
      int heads,
      int[] positions,
      double base,
      Layout layout,
      FloatFormat format) {
    double[] dx = rotate(p, dy.toDoubleArray(), heads, positions, base, layout, false);
    return Emit.output(ctx, site, "rope.grad", Phase.BACKWARD, format, dy.shape(), dx, dy);
  }

  public static Var apply(
      Tape tape,
      OpContext ctx,
      Site site,
      Precision p,
      Var x,
      int heads,
      int[] positions,
      double base,
      Layout layout) {
    int[] pos = positions.clone();
    Tensor y = forward(ctx, site, p, x.value(), heads, pos, base, layout);
    return tape.record(
        "rope@" + site,
        y,
        (dy, needs) ->
            new Tensor[] {backward(ctx, site, p, dy, heads, pos, base, layout, x.gradFormat())},
        x);
  }
}
