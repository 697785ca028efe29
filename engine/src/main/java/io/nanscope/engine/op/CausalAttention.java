package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Causal scaled dot-product attention with grouped-query heads (Vaswani et al. 2017 eq. 1; GQA,
 * Ainslie et al. 2023), as HF's eager Llama attention computes it:
 * {@code S = q·kᵀ}, {@code S' = S·(1/√D)}, {@code S'' = S' + mask}, {@code P = softmax(S'')},
 * {@code o = P·v}. Query head h reads key/value head {@code h / (H/Hkv)}.
 *
 * <p>Shapes: q: (Tq, H·D); k, v: (Tk, Hkv·D); P: (H, Tq, Tk); o: (Tq, H·D). Query i sits at
 * position {@code Tk − Tq + i} (Tq = Tk in sequence mode; Tq = 1 when decoding with a KV cache)
 * and may attend to keys {@code j ≤ Tk − Tq + i} whose {@code keyMask[j]} is true (padding mask;
 * null = all keys valid).
 *
 * <p>Precision: two precisions, as HF runs two kinds of op. {@code gemm} ({@link OpKind#ATTENTION}):
 * q·kᵀ accumulated in {@code accumulate} and rounded to {@code output}; the scaling and the mask
 * addition each rounded to {@code output}; the mask is the additive {@code finfo(output).min}
 * ({@code −maxFinite}), so in FP16 a score ≤ −16 plus −65504 becomes −inf; {@code P·v} accumulated
 * and rounded to {@code output}. {@code softmax} ({@link OpKind#ATTENTION_SOFTMAX}): the row softmax
 * in its compute/accumulate formats, P rounded to its output ({@code softmax(…, dtype=float32)
 * .to(q.dtype)}). A row with every key masked holds only {@code min} values and gets a uniform P
 * (finite), or NaN once the mask addition overflowed to −inf everywhere.
 *
 * <p>Backward (per head, with dO: (Tq, D)): {@code dV_j = Σ_i P_ij·dO_i};
 * {@code dP_ij = dO_i·v_j}; {@code dS''_ij = P_ij·(dP_ij − Σ_k P_ik·dP_ik)} (softmax backward);
 * the mask is additive, so {@code dS' = dS''}; {@code dS = dS'/√D};
 * {@code dQ_i = Σ_j dS_ij·k_j}; {@code dK_j = Σ_i dS_ij·q_i}. dK and dV sum over the H/Hkv query
 * heads that share the key/value head.
 */
public final class CausalAttention {

  private CausalAttention() {}

  /** The output and what backward reads: P (H, Tq, Tk) in the softmax's output format. */
  public record Forward(Tensor out, Tensor probs) {}

  /** The dimensions of one call, checked once. */
  private record Dims(int tq, int tk, int h, int hkv, int d) {
    int group() {
      return h / hkv;
    }

    boolean visible(int i, int j, boolean[] keyMask) {
      return j <= tk - tq + i && (keyMask == null || keyMask[j]);
    }
  }

  private static Dims dims(Site site, Tensor q, Tensor k, Tensor v, int heads, int kvHeads, boolean[] keyMask) {
    int tq = Math.toIntExact(q.shape().rows()), tk = Math.toIntExact(k.shape().rows());
    long qc = q.shape().cols(), kc = k.shape().cols();
    Emit.check(heads > 0 && kvHeads > 0 && heads % kvHeads == 0,
        "attention at " + site + ": " + heads + " query heads do not group over " + kvHeads + " key/value heads");
    Emit.check(qc % heads == 0, "attention at " + site + ": q rows of " + qc + " do not split into " + heads + " heads");
    int d = (int) (qc / heads);
    Emit.check(kc == (long) kvHeads * d, "attention at " + site + ": k is " + k.shape() + ", expected (Tk, " + kvHeads * d + ")");
    Emit.sameShape("attention at " + site, "k", k, "v", v);
    Emit.check(tq <= tk, "attention at " + site + ": " + tq + " queries but only " + tk + " keys");
    Emit.check(keyMask == null || keyMask.length == tk,
        "attention at " + site + ": key mask has " + (keyMask == null ? 0 : keyMask.length) + " entries for " + tk + " keys");
    return new Dims(tq, tk, heads, kvHeads, d);
  }

  public static Forward forward(
      OpContext ctx, Site site, Precision gemm, Precision softmax, Tensor q, Tensor k, Tensor v,
      int heads, int kvHeads, boolean[] keyMask) {
    Dims m = dims(site, q, k, v, heads, kvHeads, keyMask);
    int tq = m.tq, tk = m.tk, d = m.d, qs = m.h * d, ks = m.hkv * d;
    double[] qv = q.toDoubleArray(), kv = k.toDoubleArray(), vv = v.toDoubleArray();
    float[] qf = Reduce.floatsFor(gemm.accumulate(), qv), kf = Reduce.floatsFor(gemm.accumulate(), kv);
    double scale = gemm.roundCompute(1.0 / Math.sqrt(d));
    double maskMin = -gemm.output().info().maxFinite();
    double[] probs = new double[Math.multiplyExact(Math.multiplyExact(m.h, tq), tk)];
    double[] scores = new double[tk];
    double[] out = new double[Math.multiplyExact(tq, qs)];
    for (int h = 0; h < m.h; h++) {
      int kvh = h / m.group();
      for (int i = 0; i < tq; i++) {
        int row = (h * tq + i) * tk;
        for (int j = 0; j < tk; j++) {
          double s = gemm.roundOutput(Reduce.dot(gemm.accumulate(), qv, qf, i * qs + h * d, kv, kf, j * ks + kvh * d, d), row + j);
          s = gemm.roundOutput(gemm.roundCompute(s * scale), row + j);
          scores[j] = m.visible(i, j, keyMask) ? s : gemm.roundOutput(gemm.roundCompute(s + maskMin), row + j);
        }
        Softmax.row(softmax, scores, 0, tk, probs, row);
        for (int j = 0; j < tk; j++) {
          probs[row + j] = softmax.roundOutput(probs[row + j], row + j);
        }
        for (int j = 0; j < tk; j++) { // o_i = Σ_j P_ij·v_j, sequential in j for every c
          Reduce.axpy(gemm.accumulate(), out, i * qs + h * d, probs[row + j], vv, j * ks + kvh * d, d);
        }
      }
    }
    Tensor p = Tensor.ofDoubles(softmax.output(), Shape.of(m.h, tq, tk), probs);
    if (ctx.tracer().enabled()) {
      Emit.output(ctx, site.child("softmax"), "attention.softmax", Phase.FORWARD, softmax, p.shape(), probs, q, k);
    }
    Tensor o = Emit.output(ctx, site, "attention", Phase.FORWARD, gemm, q.shape(), out, q, k, v);
    return new Forward(o, p);
  }

  /** The gradients of q, k and v (each null when its format is null), rounded to those formats. */
  public record Grads(Tensor dq, Tensor dk, Tensor dv) {}

  public static Grads backward(
      OpContext ctx, Site site, Precision gemm, Precision softmax, Tensor dOut, Tensor q, Tensor k, Tensor v,
      Tensor probs, int heads, int kvHeads, FloatFormat dqFormat, FloatFormat dkFormat, FloatFormat dvFormat) {
    Dims m = dims(site, q, k, v, heads, kvHeads, null);
    int tq = m.tq, tk = m.tk, d = m.d, qs = m.h * d, ks = m.hkv * d;
    double[] qv = q.toDoubleArray(), kv = k.toDoubleArray(), vv = v.toDoubleArray();
    double[] g = dOut.toDoubleArray(), pv = probs.toDoubleArray();
    float[] gf = Reduce.floatsFor(gemm.accumulate(), g), vf = Reduce.floatsFor(gemm.accumulate(), vv);
    double scale = gemm.roundCompute(1.0 / Math.sqrt(d));
    // dS for every head: (H, Tq, Tk), already scaled by 1/√D.
    double[] ds = new double[pv.length];
    double[] dp = new double[tk];
    for (int h = 0; h < m.h; h++) {
      int kvh = h / m.group();
      for (int i = 0; i < tq; i++) {
        int row = (h * tq + i) * tk;
        for (int j = 0; j < tk; j++) {
          dp[j] = gemm.roundOutput(Reduce.dot(gemm.accumulate(), g, gf, i * qs + h * d, vv, vf, j * ks + kvh * d, d), row + j);
        }
        Softmax.rowBackward(softmax, pv, row, dp, 0, tk, ds, row);
        for (int j = 0; j < tk; j++) {
          ds[row + j] = gemm.roundOutput(gemm.roundCompute(softmax.roundOutput(ds[row + j], row + j) * scale), row + j);
        }
      }
    }
    Tensor dq = null, dk = null, dv = null;
    if (dqFormat != null) {
      double[] out = new double[qv.length];
      for (int h = 0; h < m.h; h++) {
        int kvh = h / m.group();
        for (int i = 0; i < tq; i++) {
          for (int j = 0; j < tk; j++) { // dQ_i = Σ_j dS_ij·k_j, sequential in j
            Reduce.axpy(gemm.accumulate(), out, i * qs + h * d, ds[(h * tq + i) * tk + j], kv, j * ks + kvh * d, d);
          }
        }
      }
      dq = Emit.output(ctx, site, "attention.dq", Phase.BACKWARD, dqFormat, q.shape(), out, dOut, k);
    }
    if (dkFormat != null) {
      dk = Emit.output(ctx, site, "attention.dk", Phase.BACKWARD, dkFormat, k.shape(), kvGrad(gemm, m, ds, qv), dOut, q);
    }
    if (dvFormat != null) {
      // dV_j = Σ_i P_ij·dO_i: the same reduction as dK with P in place of dS and dO in place of q.
      dv = Emit.output(ctx, site, "attention.dv", Phase.BACKWARD, dvFormat, v.shape(), kvGrad(gemm, m, pv, g), dOut, probs);
    }
    return new Grads(dq, dk, dv);
  }

  /**
   * {@code out[j, kvh, c] = Σ_{h in group(kvh)} Σ_i w[h, i, j]·x[i, h, c]}: dK (w = dS, x = q) or
   * dV (w = P, x = dO); one sequential sum in {@code accumulate} over (h, i), heads outer.
   */
  private static double[] kvGrad(Precision gemm, Dims m, double[] w, double[] x) {
    int tq = m.tq, tk = m.tk, d = m.d, qs = m.h * d, ks = m.hkv * d;
    double[] out = new double[Math.multiplyExact(tk, ks)];
    for (int kvh = 0; kvh < m.hkv; kvh++) {
      for (int j = 0; j < tk; j++) {
        for (int h = kvh * m.group(); h < (kvh + 1) * m.group(); h++) {
          for (int i = 0; i < tq; i++) {
            Reduce.axpy(gemm.accumulate(), out, j * ks + kvh * d, w[(h * tq + i) * tk + j], x, i * qs + h * d, d);
          }
        }
      }
    }
    return out;
  }

  public static Var apply(
      Tape tape, OpContext ctx, Site site, Precision gemm, Precision softmax, Var q, Var k, Var v,
      int heads, int kvHeads, boolean[] keyMask) {
    boolean[] mask = keyMask == null ? null : keyMask.clone();
    Forward f = forward(ctx, site, gemm, softmax, q.value(), k.value(), v.value(), heads, kvHeads, mask);
    return tape.record(
        "attention@" + site,
        f.out(),
        (dOut, needs) -> {
          Grads gr =
              backward(ctx, site, gemm, softmax, dOut, q.value(), k.value(), v.value(), f.probs(), heads, kvHeads,
                  needs[0] ? q.gradFormat() : null, needs[1] ? k.gradFormat() : null, needs[2] ? v.gradFormat() : null);
          return new Tensor[] {gr.dq(), gr.dk(), gr.dv()};
        },
        q,
        k,
        v);
  }
}
