package io.nanscope.editing.repro;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.keys.SubjectKey;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.Rome;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.model.LlamaModel;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link RankOneStep} recomputes ROME's last step for another kᵀu; it must give bit for bit what
 * {@code Rome.compute} gives with that override (1 edit, FP16, bare context), and its unrounded r
 * must round to the stored r under the JDK's own FP16 conversion. Then the sweep (1 more edit)
 * places the three regimes: finite, inf at the down_proj output, r itself overflowing.
 */
class RankOneStepTest {

  @Test
  void recomputedUpdateEqualsRomeComputeBitForBit() throws Exception {
    ReproFixture f = new ReproFixture();
    PrecisionPolicy p = PrecisionPolicy.named("pytorch-fp16");
    LlamaModel m = f.source().load(p.storage());
    EditRequest req = f.records.getFirst();
    Rome.Outcome o =
        Rome.compute(
            m,
            f.tok,
            f.hp,
            req.forRome(),
            ContextTemplates.bare(),
            Rome.Options.of(p, OpContext.DEFAULT).withDivisionFactor(ReproFixture.OVERRIDE),
            EditLog.NONE);
    Rome.LayerUpdate l = o.layers().getFirst();
    SubjectKey.AtToken cur =
        SubjectKey.at(
            m, f.tok, p, OpContext.DEFAULT, 1, req.forRome().promptTemplate(), req.subject());
    RankOneStep s =
        RankOneStep.of(
            1,
            l.value().target(),
            cur.output(),
            l.u(),
            ReproFixture.OVERRIDE,
            m.writableDownProj(1));
    assertThat(s.r()).isEqualTo(l.r());
    assertThat(bytes(s.updated())).isEqualTo(bytes(l.updated()));
    for (int i = 0; i < s.r().length; i++) {
      assertThat(Float.float16ToFloat(Float.floatToFloat16(s.rUnrounded()[i]))).isEqualTo(s.r()[i]);
    }
    assertThat(s.nonFiniteWeights()).isZero();
    assertThat(s.updatedUnrounded()).isNotNull();
  }

  @Test
  void sweepShowsFiniteThenDownProjOverflowThenROverflow() throws Exception {
    ReproFixture f = new ReproFixture();
    DivisionFactorSweep.Result res =
        DivisionFactorSweep.run(
            f.source(),
            f.tok,
            f.hp,
            ContextTemplates.bare(),
            f.records.getFirst(),
            List.of("pytorch-fp16"),
            List.of(1e-3, ReproFixture.OVERRIDE, 1e-5),
            42,
            1);
    assertThat(res.cell(0, 0).failed()).isFalse();
    assertThat(res.cell(1, 0).firstNonFinite())
        .isEqualTo("inf at generation layers.1.mlp.down_proj (matmul)");
    assertThat(res.cell(1, 0).multinomialError()).isTrue();
    assertThat(res.cell(2, 0).firstNonFinite()).startsWith("rank-one update (");
    assertThat(res.table()).contains("fp16").contains("1e-03");
  }

  private static byte[] bytes(Tensor t) {
    return t.segment().toArray(ValueLayout.JAVA_BYTE);
  }
}
