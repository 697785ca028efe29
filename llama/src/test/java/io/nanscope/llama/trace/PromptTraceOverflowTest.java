package io.nanscope.llama.trace;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.ElementTrace;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.TokenRows;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.TestPaths;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The embedded model with layer 1's W_down multiplied by 2^16 (every entry stays finite in FP16,
 * checked), so its down_proj output on this prompt, at most 62,933 with 2^15, overflows under
 * pytorch-fp16, and the next layer's RMSNorm turns the inf into NaN: the report names the token and
 * channel of each, and calls the first the producer and the second the propagator.
 */
class PromptTraceOverflowTest {

  static final Path MODEL = TestPaths.stories260K();
  static final String PROMPT = "Once upon a time, there was a little girl named Lily.";

  static LlamaModel blownUp() throws Exception {
    LlamaModel m = LlamaModel.load(MODEL, FloatFormat.FP16);
    Tensor w = m.writableDownProj(1);
    for (long i = 0; i < w.size(); i++) {
      w.set(i, w.get(i) * 65536f);
      assertThat(Float.isFinite(w.get(i))).as("scaled W_down[%d]", i).isTrue();
    }
    return m;
  }

  @Test
  void producerAndPropagatorNameTheirTokens() throws Exception {
    Tokenizer tok = Tokenizer.readFromDirectory(MODEL);
    int[] ids = tok.encode(PROMPT, true, false);
    PromptTrace.Result r =
        PromptTrace.run(
            blownUp(), ids, PrecisionPolicy.named("pytorch-fp16"), 1, false, tok::piece);

    FirstNonFinite first = r.first().orElseThrow();
    assertThat(first.at().site().name()).isEqualTo("layers.1.mlp.down_proj");
    assertThat(first.role()).isEqualTo("producer");
    ElementTrace e = first.elements().getFirst();
    int row = Math.toIntExact(e.coordinates()[0]);
    assertThat(e.layer()).isEqualTo(1);
    assertThat(e.row()).isEqualTo(row);
    assertThat(e.position()).isEqualTo(row); // one sequence: flat row = position
    assertThat(e.token()).isEqualTo(ids[row]);
    assertThat(e.tokenText()).isEqualTo(tok.piece(ids[row]));
    assertThat(e.channel()).isEqualTo(e.coordinates()[1]);
    assertThat(e.termCount())
        .isEqualTo(
            r.rows().stream()
                    .filter(s -> s.at().site().name().equals("layers.1.mlp.act_mul_up"))
                    .findFirst()
                    .orElseThrow()
                    .output()
                    .count()
                / ids.length); // F, the MLP width
    assertThat(Math.abs(e.operands().getFirst().value())).isGreaterThan(65504);

    FirstNonFinite nan = r.firstNewNan().orElseThrow();
    assertThat(nan.at().site().name()).isEqualTo("layers.2.input_layernorm");
    assertThat(nan.role()).isEqualTo("propagator");
    ElementTrace n = nan.elements().getFirst();
    assertThat(n.layer()).isEqualTo(2);
    assertThat(n.token()).isEqualTo(ids[Math.toIntExact(n.row())]);
  }

  /** The model announces its rows to an enabled tracer only; a disabled one is never called. */
  @Test
  void rowsAreAnnouncedOnlyWhileTracing() throws Exception {
    LlamaModel m = LlamaModel.load(MODEL, FloatFormat.FP16);
    int[] ids = {1, 403, 407};
    List<TokenRows> seen = new ArrayList<>();
    Tracer off =
        new Tracer() {
          @Override
          public boolean enabled() {
            return false;
          }

          @Override
          public void record(OpRecord record) {
            throw new AssertionError("a disabled tracer got a record");
          }

          @Override
          public void rows(TokenRows rows) {
            throw new AssertionError("a disabled tracer got the rows");
          }
        };
    Tracer on =
        new Tracer() {
          @Override
          public boolean enabled() {
            return true;
          }

          @Override
          public void record(OpRecord record) {}

          @Override
          public void rows(TokenRows rows) {
            seen.add(rows);
          }
        };
    PrecisionPolicy p = PrecisionPolicy.named("pytorch-fp16");
    m.forward(SequenceBatch.of(ids), p, OpContext.DEFAULT.withTracer(off), null, Hooks.none());
    m.forward(SequenceBatch.of(ids), p, OpContext.DEFAULT.withTracer(on), null, Hooks.none());
    assertThat(seen).hasSize(1);
    assertThat(seen.getFirst().tokens()).containsExactly(ids);
    assertThat(seen.getFirst().positions()).containsExactly(0, 1, 2);
    var decoder = m.decoder(p, OpContext.DEFAULT.withTracer(on));
    decoder.next(1);
    decoder.next(403);
    assertThat(seen).hasSize(3);
    assertThat(seen.get(2).tokens()).containsExactly(403);
    assertThat(seen.get(2).positions()).containsExactly(1);
  }
}
