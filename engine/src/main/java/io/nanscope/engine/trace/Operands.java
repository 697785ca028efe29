package io.nanscope.engine.trace;

import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Reads back, from an {@link OpRecord}'s inputs as stored, the operand values that produced one
 * output element ({@link ElementTrace}). It knows the index maps of the ops that sum (matmul and
 * its two gradients, the Gram matrix, RMSNorm) and treats every other op as element-wise: an input
 * of the output's size is read at the same index, a vector of the last axis's length at the
 * channel, a one-element input as a scalar. Everything here is FP64 arithmetic on stored values,
 * for the report only: it never feeds back into a result.
 */
final class Operands {

  private Operands() {}

  /** Terms kept per element, largest |term| first. */
  static final int TERMS = 4;

  static ElementTrace trace(OpRecord r, long index, TokenRows rows, IntFunction<String> tokenText) {
    Tensor out = r.output();
    Shape shape = out.shape();
    long[] coords = coordinates(shape, index);
    long last = shape.rank() == 0 ? 1 : shape.dim(shape.rank() - 1);
    long channel = last == 0 ? 0 : index % last;
    long flatRow = last == 0 ? 0 : index / last;
    int layer = layer(r.site());
    long row = -1;
    int batchRow = -1, position = -1, token = -1;
    String text = "";
    if (rows != null
        && shape.rank() >= 2
        && last > 0
        && out.size() / last == rows.size()
        && isActivation(r.op())) {
      int fr = Math.toIntExact(flatRow);
      row = fr;
      batchRow = rows.batchRow(fr);
      position = rows.position(fr);
      token = rows.token(fr);
      text = text(tokenText, token);
    }
    Analysis a = analyse(r, index, rows, tokenText);
    return new ElementTrace(
        index,
        coords,
        out.getDouble(index),
        layer,
        row,
        batchRow,
        position,
        token,
        text,
        channel,
        a.formula,
        a.operands,
        a.terms,
        a.termName,
        a.termCount);
  }

  private record Analysis(
      String formula,
      List<ElementTrace.Operand> operands,
      List<ElementTrace.Term> terms,
      String termName,
      long termCount) {}

  private static Analysis analyse(
      OpRecord r, long index, TokenRows rows, IntFunction<String> tokenText) {
    List<Tensor> in = r.inputs();
    try {
      switch (r.op()) {
        case "matmul" -> {
          if (in.size() == 2 && in.get(1).shape().rank() == 2) {
            Tensor x = in.get(0), w = in.get(1);
            long n = w.shape().dim(0), c = w.shape().dim(1);
            if (c > 0 && n > 0 && x.size() % c == 0 && r.output().size() == x.size() / c * n) {
              long t = index / n, j = index % n;
              return sum(
                  r,
                  index,
                  "y[t,n] = Σ_c x[t,c]·W[n,c], t = " + t + ", n = " + j,
                  "x[t,c]·W[n,c]",
                  c,
                  k -> x.getDouble(t * c + k),
                  k -> w.getDouble(j * c + k),
                  k -> "c=" + k);
            }
          }
        }
        case "matmul.dx" -> {
          if (in.size() == 2 && in.get(1).shape().rank() == 2) {
            Tensor dy = in.get(0), w = in.get(1);
            long n = w.shape().dim(0), c = w.shape().dim(1);
            if (c > 0 && n > 0 && dy.size() % n == 0 && r.output().size() == dy.size() / n * c) {
              long t = index / c, j = index % c;
              return sum(
                  r,
                  index,
                  "dx[t,c] = Σ_n dy[t,n]·W[n,c], t = " + t + ", c = " + j,
                  "dy[t,n]·W[n,c]",
                  n,
                  k -> dy.getDouble(t * n + k),
                  k -> w.getDouble(k * c + j),
                  k -> "n=" + k);
            }
          }
        }
        case "matmul.dw" -> {
          if (in.size() == 2) {
            Tensor dy = in.get(0), x = in.get(1);
            long n = dy.shape().cols(), c = x.shape().cols();
            long t = n == 0 ? 0 : dy.size() / n;
            if (c > 0 && n > 0 && x.size() == t * c && r.output().size() == n * c) {
              long i = index / c, j = index % c;
              return sum(
                  r,
                  index,
                  "dW[n,c] = Σ_t dy[t,n]·x[t,c], n = " + i + ", c = " + j,
                  "dy[t,n]·x[t,c]",
                  t,
                  k -> dy.getDouble(k * n + i),
                  k -> x.getDouble(k * c + j),
                  k -> tokenAt("t=" + k, k, t, rows, tokenText));
            }
          }
        }
        case "gram" -> {
          if (in.size() == 1) {
            Tensor x = in.get(0);
            long c = x.shape().cols();
            long t = c == 0 ? 0 : x.size() / c;
            if (c > 0 && r.output().size() == c * c) {
              long i = index / c, j = index % c;
              return sum(
                  r,
                  index,
                  "G[i,j] = Σ_t x[t,i]·x[t,j], i = " + i + ", j = " + j,
                  "x[t,i]·x[t,j]",
                  t,
                  k -> x.getDouble(k * c + i),
                  k -> x.getDouble(k * c + j),
                  k -> tokenAt("t=" + k, k, t, rows, tokenText));
            }
          }
        }
        case "rmsnorm", "rmsnorm.dx" -> {
          boolean fwd = r.op().equals("rmsnorm");
          Tensor x = fwd ? in.get(0) : in.get(1);
          Tensor w = fwd ? in.get(1) : in.get(2);
          long c = x.shape().cols();
          if (c > 0 && w.size() == c && x.size() == r.output().size()) {
            return rmsnorm(r, index, fwd, x, w, c);
          }
        }
        default -> {}
      }
    } catch (RuntimeException e) {
      // an input of an unexpected shape: fall back to the element-wise reading below
    }
    return elementwise(r, index);
  }

  /** y = Σ_k a(k)·b(k): the op's own sum, an FP64 re-sum, the largest |terms|. */
  private static Analysis sum(
      OpRecord r,
      long index,
      String formula,
      String termName,
      long count,
      java.util.function.LongToDoubleFunction a,
      java.util.function.LongToDoubleFunction b,
      java.util.function.LongFunction<String> at) {
    Top top = new Top(TERMS);
    double s = 0;
    for (long k = 0; k < count; k++) {
      double av = a.applyAsDouble(k), bv = b.applyAsDouble(k);
      double p = av * bv;
      s += p;
      top.offer(k, av, bv, p);
    }
    List<ElementTrace.Operand> ops = new ArrayList<>();
    ops.add(beforeRounding(r, index));
    ops.add(new ElementTrace.Operand("FP64 re-sum of the products", s));
    return new Analysis(formula, ops, top.terms(at), termName, count);
  }

  /** RMSNorm row t: x[t,j], w[j], Σ_c x[t,c]², mean, 1/√mean and x[t,j]/√mean. */
  private static Analysis rmsnorm(OpRecord r, long index, boolean fwd, Tensor x, Tensor w, long c) {
    long t = index / c, j = index % c;
    Top top = new Top(TERMS);
    double s = 0;
    for (long k = 0; k < c; k++) {
      double v = x.getDouble(t * c + k);
      double sq = v * v;
      s += sq;
      top.offer(k, v, v, sq);
    }
    double mean = s / c;
    double inv = 1 / Math.sqrt(mean);
    double xj = x.getDouble(t * c + j);
    List<ElementTrace.Operand> ops = new ArrayList<>();
    if (!fwd) {
      ops.add(
          new ElementTrace.Operand("dy[" + t + "," + j + "]", r.inputs().get(0).getDouble(index)));
    }
    ops.add(new ElementTrace.Operand("x[" + t + "," + j + "]", xj));
    ops.add(new ElementTrace.Operand("w[" + j + "]", w.getDouble(j)));
    ops.add(new ElementTrace.Operand("Σ_c x[" + t + ",c]² (FP64)", s));
    ops.add(new ElementTrace.Operand("mean", mean));
    ops.add(new ElementTrace.Operand("1/√mean (rstd without ε)", inv));
    ops.add(new ElementTrace.Operand("x[" + t + "," + j + "]/√mean", xj * inv));
    String formula =
        fwd
            ? "y[t,j] = w[j]·x[t,j]·rstd[t], rstd[t] = 1/√(mean_c x[t,c]² + ε), t = "
                + t
                + ", j = "
                + j
            : "dx[t,j] = rstd·(dy[t,j]·w[j] − x̂[t,j]·mean_c(dy·w·x̂)), t = " + t + ", j = " + j;
    return new Analysis(formula, ops, top.terms(k -> "c=" + k), "x[t,c]²", c);
  }

  /** Every input read at the element (same size), at its channel (a vector) or as a scalar. */
  private static Analysis elementwise(OpRecord r, long index) {
    Tensor out = r.output();
    Shape shape = out.shape();
    long last = shape.rank() == 0 ? 1 : shape.dim(shape.rank() - 1);
    long channel = last == 0 ? 0 : index % last;
    List<String> names = inputNames(r.op(), r.inputs().size());
    List<ElementTrace.Operand> ops = new ArrayList<>();
    for (int i = 0; i < r.inputs().size(); i++) {
      Tensor t = r.inputs().get(i);
      if (t == null) {
        continue;
      }
      String name = names.get(i);
      if (t.size() == out.size()) {
        ops.add(
            new ElementTrace.Operand(
                name + index(coordinates(t.shape(), index)), t.getDouble(index)));
      } else if (t.size() == last && last > 1) {
        ops.add(new ElementTrace.Operand(name + "[" + channel + "]", t.getDouble(channel)));
      } else if (t.size() == 1) {
        ops.add(new ElementTrace.Operand(name, t.getDouble(0)));
      }
    }
    if (r.unrounded() != null) {
      ops.add(beforeRounding(r, index));
    }
    return new Analysis(formula(r.op(), names), ops, List.of(), "", 0);
  }

  private static ElementTrace.Operand beforeRounding(OpRecord r, long index) {
    Tensor u = r.unrounded();
    String fmt = r.output().format().name();
    return u != null
        ? new ElementTrace.Operand("the op's value before rounding to " + fmt, u.getDouble(index))
        : new ElementTrace.Operand("the op's value (" + fmt + ")", r.output().getDouble(index));
  }

  private static List<String> inputNames(String op, int n) {
    List<String> known =
        switch (op) {
          case "add", "mul" -> List.of("a", "b");
          case "add_rows" -> List.of("x", "delta");
          case "swiglu" -> List.of("gate", "up");
          case "silu", "scale", "cast", "rope", "softmax", "log_softmax" -> List.of("x");
          case "silu.grad" -> List.of("dy", "x");
          case "mul.grad" -> List.of("dy", "other");
          case "swiglu.dgate" -> List.of("dy", "gate", "up");
          case "swiglu.dup" -> List.of("dy", "gate");
          case "attention" -> List.of("q", "k", "v");
          default -> List.of();
        };
    List<String> names = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      names.add(i < known.size() ? known.get(i) : "in" + i);
    }
    return names;
  }

  private static String formula(String op, List<String> names) {
    return switch (op) {
      case "add" -> "y = a + b";
      case "mul" -> "y = a·b";
      case "swiglu" -> "y = silu(gate)·up";
      case "silu" -> "y = x·σ(x)";
      case "cast" -> "y = x rounded to the output format";
      case "scale" -> "y = s·x";
      case "add_rows" -> "y = x + delta at the hooked rows";
      default -> "y = " + op + "(" + String.join(", ", names) + ")";
    };
  }

  /** Whether the op's output rows are the pass's token rows (not a weight-shaped gradient). */
  private static boolean isActivation(String op) {
    return !op.equals("matmul.dw")
        && !op.equals("gram")
        && !op.equals("rmsnorm.dw")
        && !op.equals("embedding.grad");
  }

  private static String tokenAt(
      String label, long k, long count, TokenRows rows, IntFunction<String> tokenText) {
    if (rows == null || rows.size() != count) {
      return label;
    }
    int r = Math.toIntExact(k);
    String t = text(tokenText, rows.token(r));
    return label + " (position " + rows.position(r) + (t.isEmpty() ? "" : " \"" + t + "\"") + ")";
  }

  private static String text(IntFunction<String> tokenText, int token) {
    if (tokenText == null) {
      return "";
    }
    try {
      String s = tokenText.apply(token);
      return s == null ? "" : s;
    } catch (RuntimeException e) {
      return "";
    }
  }

  /** The layer of a {@code layers.N.…} site, or -1. */
  static int layer(Site site) {
    String n = site.name();
    if (!n.startsWith("layers.")) {
      return -1;
    }
    int end = n.indexOf('.', 7);
    try {
      return Integer.parseInt(end < 0 ? n.substring(7) : n.substring(7, end));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  static long[] coordinates(Shape shape, long flat) {
    long[] strides = shape.strides();
    long[] c = new long[strides.length];
    long rest = flat;
    for (int a = 0; a < strides.length; a++) {
      c[a] = strides[a] == 0 ? 0 : rest / strides[a];
      rest -= c[a] * strides[a];
    }
    return c;
  }

  private static String index(long[] c) {
    StringBuilder b = new StringBuilder("[");
    for (int i = 0; i < c.length; i++) {
      b.append(i == 0 ? "" : ",").append(c[i]);
    }
    return b.append(']').toString();
  }

  /** The {@code k} terms of largest |product| (NaN first, then ±inf), in that order. */
  private static final class Top {
    private final int k;
    private final long[] at;
    private final double[] a, b, p;
    private int n;

    Top(int k) {
      this.k = k;
      this.at = new long[k];
      this.a = new double[k];
      this.b = new double[k];
      this.p = new double[k];
    }

    private static double key(double v) {
      return Double.isNaN(v) ? Double.POSITIVE_INFINITY : Math.abs(v);
    }

    void offer(long idx, double av, double bv, double pv) {
      if (k == 0) {
        return;
      }
      double kv = key(pv);
      if (n == k && !(kv > key(p[n - 1]))) {
        return;
      }
      int i = n < k ? n++ : k - 1;
      while (i > 0 && kv > key(p[i - 1])) {
        at[i] = at[i - 1];
        a[i] = a[i - 1];
        b[i] = b[i - 1];
        p[i] = p[i - 1];
        i--;
      }
      at[i] = idx;
      a[i] = av;
      b[i] = bv;
      p[i] = pv;
    }

    List<ElementTrace.Term> terms(java.util.function.LongFunction<String> label) {
      List<ElementTrace.Term> out = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        out.add(new ElementTrace.Term(label.apply(at[i]), a[i], b[i], p[i]));
      }
      return out;
    }
  }
}
