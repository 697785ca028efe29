package io.nanscope.llama.model;

import io.nanscope.engine.autograd.Tape;
import io.nanscope.engine.autograd.Var;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.CausalAttention;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.Precision;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.Site;

/**
 * {@link CausalAttention} over a right-padded batch: the B rows of T tokens are flattened to B·T
 * rows for the projections, and each batch row attends only within itself, causally, to its own
 * real keys ({@code keyMask[j] = j < len_b}). One tape node; forward and backward call the engine
 * op once per batch row and stitch the row blocks together.
 *
 * <p>Shapes: q: (B·T, H·D); k, v: (B·T, Hkv·D); out: (B·T, H·D).
 */
final class BatchedAttention {

  private BatchedAttention() {}

  static Var apply(
      Tape tape,
      OpContext ctx,
      Site site,
      Precision gemm,
      Precision softmax,
      Var q,
      Var k,
      Var v,
      int heads,
      int kvHeads,
      int[] lengths,
      int t) {
    int b = lengths.length;
    Tensor[] probs = new Tensor[b];
    Tensor out = null;
    for (int r = 0; r < b; r++) {
      boolean[] mask = new boolean[t];
      for (int j = 0; j < lengths[r]; j++) {
        mask[j] = true;
      }
      CausalAttention.Forward f =
          CausalAttention.forward(
              ctx,
              site,
              gemm,
              softmax,
              rows(q.value(), r, t),
              rows(k.value(), r, t),
              rows(v.value(), r, t),
              heads,
              kvHeads,
              b == 1 && lengths[0] == t ? null : mask);
      probs[r] = f.probs();
      if (b == 1) {
        out = f.out();
      } else {
        if (out == null) {
          out = Tensor.zeros(f.out().format(), q.value().shape());
        }
        place(f.out(), out, r, t);
      }
    }
    Tensor y = out;
    return tape.record(
        "attention@" + site,
        y,
        (dOut, needs) -> {
          Tensor dq = needs[0] ? Tensor.zeros(q.gradFormat(), q.value().shape()) : null;
          Tensor dk = needs[1] ? Tensor.zeros(k.gradFormat(), k.value().shape()) : null;
          Tensor dv = needs[2] ? Tensor.zeros(v.gradFormat(), v.value().shape()) : null;
          for (int r = 0; r < b; r++) {
            CausalAttention.Grads g =
                CausalAttention.backward(
                    ctx,
                    site,
                    gemm,
                    softmax,
                    rows(dOut, r, t),
                    rows(q.value(), r, t),
                    rows(k.value(), r, t),
                    rows(v.value(), r, t),
                    probs[r],
                    heads,
                    kvHeads,
                    needs[0] ? q.gradFormat() : null,
                    needs[1] ? k.gradFormat() : null,
                    needs[2] ? v.gradFormat() : null);
            placeIfAny(g.dq(), dq, r, t);
            placeIfAny(g.dk(), dk, r, t);
            placeIfAny(g.dv(), dv, r, t);
          }
          return new Tensor[] {dq, dk, dv};
        },
        q,
        k,
        v);
  }

  /** Rows [r·T, (r+1)·T) of a (B·T, X) tensor, sharing storage. */
  private static Tensor rows(Tensor x, int r, int t) {
    return x.slice((long) r * t, (long) (r + 1) * t);
  }

  private static void placeIfAny(Tensor block, Tensor into, int r, int t) {
    if (block != null && into != null) {
      place(block, into, r, t);
    }
  }

  /** Copies a (T, X) block into rows [r·T, (r+1)·T) of {@code into} (same format). */
  private static void place(Tensor block, Tensor into, int r, int t) {
    FloatFormat f = into.format();
    if (block.format() != f) {
      block = block.to(f);
    }
    long bytes = block.segment().byteSize();
    java.lang.foreign.MemorySegment.copy(block.segment(), 0, into.segment(), r * bytes, bytes);
  }
}
