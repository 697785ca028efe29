package io.nanscope.engine.op;

/**
 * Independent FP64 references for the ops, written from the formulas (PyTorch/HF docs and the
 * papers) without sharing code with {@code engine.op}: plain double loops over flat row-major
 * arrays. Tests compare each op against these with a stated error budget.
 */
final class Reference64 {

  private Reference64() {}

  /** y = x·Wᵀ; x (t, c), w (n, c). */
  static double[] linear(double[] x, double[] w, int t, int c, int n) {
    double[] y = new double[t * n];
    for (int i = 0; i < t; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int k = 0; k < c; k++) {
          s += x[i * c + k] * w[j * c + k];
        }
        y[i * n + j] = s;
      }
    }
    return y;
  }

  static double[] rmsnorm(double[] x, double[] w, int t, int c, double eps) {
    double[] y = new double[t * c];
    for (int i = 0; i < t; i++) {
      double ms = 0;
      for (int k = 0; k < c; k++) {
        ms += x[i * c + k] * x[i * c + k];
      }
      double inv = 1.0 / Math.sqrt(ms / c + eps);
      for (int k = 0; k < c; k++) {
        y[i * c + k] = w[k] * (x[i * c + k] * inv);
      }
    }
    return y;
  }

  static double silu(double x) {
    return x / (1.0 + Math.exp(-x));
  }

  static double[] softmax(double[] x, int rows, int n) {
    double[] y = new double[x.length];
    for (int r = 0; r < rows; r++) {
      double m = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < n; j++) {
        m = Math.max(m, x[r * n + j]);
      }
      double z = 0;
      for (int j = 0; j < n; j++) {
        z += Math.exp(x[r * n + j] - m);
      }
      for (int j = 0; j < n; j++) {
        y[r * n + j] = Math.exp(x[r * n + j] - m) / z;
      }
    }
    return y;
  }

  static double[] logSoftmax(double[] x, int rows, int n) {
    double[] p = softmax(x, rows, n);
    double[] y = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = Math.log(p[i]);
    }
    return y;
  }

  /**
   * RoPE via complex multiplication (RoFormer eq. 34 / Meta's {@code torch.polar}): pair k of each
   * head is the complex number (x[2k] + i·x[2k+1]) for the interleaved layout or (x[k] +
   * i·x[k+D/2]) for the half layout, multiplied by e^{i·pos·base^{-2k/D}}.
   */
  static double[] rope(
      double[] x, int t, int heads, int d, int[] pos, double base, boolean interleaved) {
    double[] y = x.clone();
    for (int r = 0; r < t; r++) {
      for (int h = 0; h < heads; h++) {
        for (int k = 0; k < d / 2; k++) {
          double theta = pos[r] * Math.pow(base, -2.0 * k / d);
          int re = r * heads * d + h * d + (interleaved ? 2 * k : k);
          int im = interleaved ? re + 1 : re + d / 2;
          double a = x[re], b = x[im];
          y[re] = a * Math.cos(theta) - b * Math.sin(theta);
          y[im] = a * Math.sin(theta) + b * Math.cos(theta);
        }
      }
    }
    return y;
  }

  /** Causal GQA attention with -inf masking (exact, no finfo.min); q (tq, h·d), k/v (tk, hkv·d). */
  static double[] attention(
      double[] q,
      double[] k,
      double[] v,
      int tq,
      int tk,
      int h,
      int hkv,
      int d,
      boolean[] keyMask) {
    double[] o = new double[tq * h * d];
    for (int head = 0; head < h; head++) {
      int g = head / (h / hkv);
      for (int i = 0; i < tq; i++) {
        double[] s = new double[tk];
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < tk; j++) {
          boolean ok = j <= tk - tq + i && (keyMask == null || keyMask[j]);
          double dot = 0;
          for (int c = 0; c < d; c++) {
            dot += q[i * h * d + head * d + c] * k[j * hkv * d + g * d + c];
          }
          s[j] = ok ? dot / Math.sqrt(d) : Double.NEGATIVE_INFINITY;
          m = Math.max(m, s[j]);
        }
        double z = 0;
        for (int j = 0; j < tk; j++) {
          z += Math.exp(s[j] - m);
        }
        for (int c = 0; c < d; c++) {
          double acc = 0;
          for (int j = 0; j < tk; j++) {
            acc += Math.exp(s[j] - m) / z * v[j * hkv * d + g * d + c];
          }
          o[i * h * d + head * d + c] = acc;
        }
      }
    }
    return o;
  }

  /** Mean over counted rows of −logp[t, y_t]. */
  static double nll(double[] logp, int v, int[] targets, boolean[] mask) {
    double s = 0;
    int n = 0;
    for (int t = 0; t < targets.length; t++) {
      if (mask == null || mask[t]) {
        s -= logp[t * v + targets[t]];
        n++;
      }
    }
    return s / n;
  }

  /** PyTorch kl_div(input, target, log_target=True, reduction="batchmean"). */
  static double klDivBatchmean(double[] input, double[] target, int batch) {
    double s = 0;
    for (int i = 0; i < input.length; i++) {
      s += Math.exp(target[i]) * (target[i] - input[i]);
    }
    return s / batch;
  }
}
