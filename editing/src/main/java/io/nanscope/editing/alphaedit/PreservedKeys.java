package io.nanscope.editing.alphaedit;

import java.util.HashMap;
import java.util.Map;

/**
 * The keys of the edits already made, per layer, as AlphaEdit keeps them for sequential editing
 * (EasyEdit's global {@code cache_c}: after each batch, {@code cache_c[i] += K Kᵀ} with that
 * batch's keys): the next batch's update solves with {@code K Kᵀ + K_p K_pᵀ} so it also keeps the
 * earlier edits' outputs. Held by the caller (no hidden global); {@link AlphaEdit#apply} adds a
 * batch to it, so a batch that is computed but refused leaves it unchanged. FP64 (EasyEdit:
 * float32).
 */
public final class PreservedKeys {

  private final Map<Integer, double[][]> gram = new HashMap<>();

  /** K_p K_pᵀ at {@code layer}: (F, F), zeros before the first edit (a copy). */
  public double[][] gram(int layer, int f) {
    double[][] g = gram.get(layer);
    double[][] out = new double[f][f];
    if (g != null) {
      for (int i = 0; i < f; i++) {
        System.arraycopy(g[i], 0, out[i], 0, f);
      }
    }
    return out;
  }

  /** Adds K Kᵀ of one batch's keys K: (F, n) at {@code layer}. */
  public void add(int layer, double[][] k) {
    int f = k.length;
    double[][] g = gram.computeIfAbsent(layer, l -> new double[f][f]);
    int n = k[0].length;
    for (int p = 0; p < f; p++) {
      for (int q = 0; q < f; q++) {
        double s = 0;
        for (int j = 0; j < n; j++) {
          s += k[p][j] * k[q][j];
        }
        g[p][q] += s;
      }
    }
  }

  /** The number of layers with kept keys. */
  public int layers() {
    return gram.size();
  }
}
