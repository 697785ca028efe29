package io.nanscope.editing.keys;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.engine.trace.OpRecord;
import io.nanscope.engine.trace.Tracer;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * v* with the frozen prefix (computed once per record) against the whole forward at every step (as
 * EasyEdit runs it): the same v*, v_init, δ and per-step losses bit for bit, the same log lines,
 * and the same trace records (site, op, phase, step and output bits, in order), on stories260K at
 * layers 1 and 2; k̄ and the bare prompt's key likewise with and without a tracer (which decides
 * whether the layers above L run).
 */
class FrozenPrefixTest {

  static Path root() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("mvnw"))) {
      p = p.getParent();
    }
    return p;
  }

  static final ContextTemplates THREE =
      new ContextTemplates(List.of("{}", "Once upon a time. {}", "The dog. {}"), "test");

  /** Every record: site, op, phase, step, and the output's bits. */
  static final class Recorder implements Tracer {
    final List<String> records = new ArrayList<>();

    @Override
    public boolean enabled() {
      return true;
    }

    @Override
    public void record(OpRecord r) {
      Tensor o = r.output();
      long h = 17;
      for (long i = 0; i < o.size(); i++) {
        h = h * 31 + Double.doubleToRawLongBits(o.getDouble(i));
      }
      records.add(
          r.site() + " " + r.op() + " " + r.phase() + " " + r.step() + " " + o.shape() + " " + h);
    }
  }

  private record Run(TargetValue.Result result, List<String> log, List<String> trace) {}

  private static Run run(
      LlamaModel m,
      Tokenizer tok,
      PrecisionPolicy p,
      RomeHyperParams hp,
      int layer,
      boolean traced,
      boolean freeze) {
    List<String> log = new ArrayList<>();
    Recorder rec = new Recorder();
    OpContext ctx = traced ? OpContext.DEFAULT.withTracer(rec) : OpContext.DEFAULT;
    TargetValue.Result r =
        TargetValue.optimise(
            m,
            tok,
            p,
            ctx,
            layer,
            TargetValue.DeltaSite.MLP_OUTPUT,
            hp.valueOptimization(),
            THREE,
            "{}'s favorite toy is a",
            "Lily",
            " ball",
            log::add,
            TargetValue.StepListener.ALWAYS,
            null,
            freeze);
    return new Run(r, log, rec.records);
  }

  @ParameterizedTest
  @ValueSource(strings = {"fp32", "pytorch-fp16", "pytorch-bf16"})
  void theFrozenPrefixGivesTheBitsLogsAndTraceOfTheWholeForward(String name) throws Exception {
    Path root = root();
    PrecisionPolicy p = PrecisionPolicy.named(name);
    LlamaModel m = LlamaModel.load(root.resolve("models/stories260K"), p.storage());
    Tokenizer tok = Tokenizer.readFromDirectory(root.resolve("models/stories260K"));
    String yaml =
        Files.readString(root.resolve("configs/rome/stories260K.yaml"))
            .replace("v_num_grad_steps: 25", "v_num_grad_steps: 4");
    RomeHyperParams hp = HyperParamsYaml.parseRome("test", yaml).hparams();
    for (int layer : new int[] {1, 2}) {
      for (boolean traced : layer == 1 ? new boolean[] {false, true} : new boolean[] {false}) {
        Run whole = run(m, tok, p, hp, layer, traced, false);
        Run frozen = run(m, tok, p, hp, layer, traced, true);
        String what = name + " layer " + layer + (traced ? " traced" : "");
        assertThat(frozen.result().target()).as(what).isEqualTo(whole.result().target());
        assertThat(frozen.result().init()).as(what).isEqualTo(whole.result().init());
        assertThat(frozen.result().delta()).as(what).isEqualTo(whole.result().delta());
        assertThat(frozen.result().steps()).as(what).isEqualTo(whole.result().steps());
        assertThat(frozen.result().steps()).as(what).hasSize(4);
        assertThat(frozen.log()).as(what).isEqualTo(whole.log());
        assertThat(frozen.trace()).as(what).isEqualTo(whole.trace());
        if (traced) {
          assertThat(frozen.trace())
              .as(what)
              .anyMatch(s -> s.startsWith("embed_tokens embedding FORWARD 3 "));
        }
      }
      Recorder rec = new Recorder();
      float[] kQuiet =
          SubjectKey.mean(m, tok, p, OpContext.DEFAULT, layer, THREE.around("{} was very"), "Tim");
      float[] kTraced =
          SubjectKey.mean(
              m,
              tok,
              p,
              OpContext.DEFAULT.withTracer(rec),
              layer,
              THREE.around("{} was very"),
              "Tim");
      assertThat(kQuiet).isEqualTo(kTraced);
      assertThat(rec.records).anyMatch(s -> s.startsWith("lm_head "));
      SubjectKey.AtToken a =
          SubjectKey.at(m, tok, p, OpContext.DEFAULT, layer, "{} was very", "Tim");
      SubjectKey.AtToken b =
          SubjectKey.at(m, tok, p, OpContext.DEFAULT.withTracer(rec), layer, "{} was very", "Tim");
      assertThat(a.input()).isEqualTo(b.input());
      assertThat(a.output()).isEqualTo(b.output());
    }
  }
}
