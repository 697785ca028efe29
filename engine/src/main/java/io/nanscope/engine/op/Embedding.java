package io.nanscope.engine.op;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.Site;

/**
 * Token embedding lookup {@code x[t] = E[tokens[t]]} (HF {@code embed_tokens}).
 *
 * <p>Shapes: E: (V, C); tokens: (T); x: (T, C).
 *
 * <p>Backward: {@code ∂x[t,c]/∂E[v,c] = [tokens[t] = v]}, so {@code dE[v] = Σ_{t: tokens[t]=v}
 * dX[t]} (a scatter-add in token order, in {@code accumulate}); rows of E no token used get 0.
 */
public final class Embedding {

  private Embedding() {}

  public static Tensor forward(OpContext ctx, Site site, Precision p, Tensor table, int[] tokens) {
    Emit.check(
        table.shape().rank() == 2,
        "embedding at " + site + ": table must be (V, C), got " + table.shape());
    long v = table.shape().dim(0);
    int c = Math.toIntExact(table.shape().dim(1));
    if (table.format() != FloatFormat.FP64 && Emit.roundsFromFloat(p.output())) {
      float[] x = new float[Math.multiplyExact(tokens.length, c)];
      for (int t = 0; t < tokens.length; t++) {
        Emit.check(
            tokens[t] >= 0 && tokens[t] < v,
            "embedding at "
                + site
                + ": token "
                + tokens[t]
                + " at position "
                + t
                + " is outside the vocabulary [0, "
                + v
                + ")");
        float[] row = table.slice(tokens[t], tokens[t] + 1).toFloatArray(); // exact decode
        System.arraycopy(row, 0, x, t * c, c);
      }
      return Emit.output(
          ctx, site, "embedding", Phase.FORWARD, p, Shape.of(tokens.length, c), x, table);
    }
    double[] x = new double[Math.multiplyExact(tokens.length, c)];
    for (int t = 0; t < tokens.length; t++) {
      Emit.check(
          tokens[t] >= 0 && tokens[t] < v,
          "embedding at "
              + site
              + ": token "
              + tokens[t]
              + " at position "
              + t
              + " is outside the vocabulary [0, "
              + v
              + ")");
      for (int j = 0; j < c; j++) {
        x[t * c + j] = table.getDouble((long) tokens[t] * c + j);
      }
    }
    return Emit.output(
        ctx, site, "embedding", Phase.FORWARD, p, Shape.of(tokens.length, c), x, table);
  }

  /** dE (V, C): the rows of dX scattered to their tokens, rounded to {@code format}. */
  public static Tensor backward(
      OpContext ctx,
      Site site,
      Precision p,
      Tensor dx,
      Shape tableShape,
      int[] tokens,
      FloatFormat format) {
    int c = Math.toIntExact(tableShape.dim(1));
    double[] g = dx.toDoubleArray();
    double[] de = new double[Math.toIntExact(tableShape.size())];
    for (int t = 0; t < tokens.length; t++) {
      for (int j = 0; j < c; j++) {
        de[tokens[t] * c + j] = p.accumulate(de[tokens[t] * c + j], g[t * c + j]);
      }
    }
    return Emit.output(ctx, site, "embedding.grad", Phase.BACKWARD, format, tableShape, de, dx);
  }

  public static Var apply(
      Tape tape, OpContext ctx, Site site, Precision p, Var table, int[] tokens) {
    int[] tok = tokens.clone();
    Tensor x = forward(ctx, site, p, table.value(), tok);
    return tape.record(
        "embedding@" + site,
        x,
        (dx, needs) ->
            new Tensor[] {
              backward(ctx, site, p, dx, table.value().shape(), tok, table.gradFormat())
            },
        table);
  }
}
