package io.nanscope.llama.weights;

import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.RopeLayout;
import java.lang.foreign.MemorySegment;

/**
 * The row permutation of {@code wq}/{@code wk} between Meta's interleaved RoPE and HF's
 * rotate_half. Within each head of D rows, Meta rotates the pairs {@code (2i, 2i+1)} and HF the
 * pairs {@code (i, i + D/2)}, {@code 0 <= i < D/2}. transformers' {@code
 * convert_llama_weights_to_hf.py} reorders each head so that pair i keeps its two rows:
 *
 * <pre>
 *   hf[h·D + j·D/2 + i] = meta[h·D + 2i + j]      j ∈ {0, 1}
 *   (as a view: (H, D/2, 2, C) → transpose(1, 2) → (H, 2, D/2, C))
 * </pre>
 *
 * <p>With these rows, RoPE-on-halves of the HF model equals RoPE-on-pairs of the Meta model, so q·k
 * and the whole model are the same function. Applying it to a tensor copies the rows.
 */
public final class RopePermutation {

  private RopePermutation() {}

  /** The HF row that Meta row {@code metaRow} moves to (within a stack of heads of D rows). */
  public static int hfRowOf(int metaRow, int headDim) {
    checkHeadDim(headDim);
    int h = metaRow / headDim;
    int r = metaRow % headDim;
    return h * headDim + (r % 2) * (headDim / 2) + r / 2;
  }

  /** The Meta row that HF row {@code hfRow} came from: the inverse of {@link #hfRowOf}. */
  public static int metaRowOf(int hfRow, int headDim) {
    checkHeadDim(headDim);
    int h = hfRow / headDim;
    int r = hfRow % headDim;
    int half = headDim / 2;
    return h * headDim + 2 * (r % half) + r / half;
  }

  /**
   * A copy of {@code w} (rows = heads·headDim, cols) with its rows reordered from layout {@code
   * from} to layout {@code to}; the same tensor if the layouts are equal.
   */
  public static Tensor permuteRows(Tensor w, int heads, RopeLayout from, RopeLayout to) {
    if (from == to) {
      return w;
    }
    long rows = w.shape().dim(0);
    if (w.shape().rank() != 2 || rows % heads != 0) {
      throw new IllegalArgumentException(
          "cannot permute RoPE rows of " + w + ": expected (heads·D, C) with " + heads + " heads");
    }
    int headDim = Math.toIntExact(rows / heads);
    Tensor out = Tensor.zeros(w.format(), w.shape());
    long rowBytes = w.shape().cols() * w.storageKind().bytes();
    for (int src = 0; src < rows; src++) {
      int dst = to == RopeLayout.HF_ROTATE_HALF ? hfRowOf(src, headDim) : metaRowOf(src, headDim);
      MemorySegment.copy(w.segment(), src * rowBytes, out.segment(), dst * rowBytes, rowBytes);
    }
    return out;
  }

  private static void checkHeadDim(int headDim) {
    if (headDim <= 0 || headDim % 2 != 0) {
      throw new IllegalArgumentException("head dim " + headDim + " must be positive and even");
    }
  }
}
