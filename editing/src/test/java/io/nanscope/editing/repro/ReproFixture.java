package io.nanscope.editing.repro;

import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

/**
 * The embedded model, its ROME hparams and the first records of the bundled edit set, as the repro
 * tests use them. Tests use the bare {@code "{}"} context template only (1 prompt instead of 21,
 * and no sampling), which keeps an edit at a few seconds; the command's default samples 21.
 */
final class ReproFixture {

  /**
   * The test override of kᵀu: inside the window where FP16 fails at the down_proj output (bare
   * context).
   */
  static final double OVERRIDE = 5e-5;

  final Path root = root();
  final Tokenizer tok;
  final RomeHyperParams hp;
  final List<EditRequest> records;

  /** Every model this fixture loaded, in order (tests inspect the last one's weights). */
  final List<LlamaModel> loaded = new ArrayList<>();

  ReproFixture() {
    try {
      tok = Tokenizer.readFromDirectory(root.resolve("models/stories260K"));
      hp = HyperParamsYaml.readRome(root.resolve("configs/rome/stories260K.yaml")).hparams();
      records = EditDatasets.knowEdit(root.resolve("configs/edits/tinystories-edits.json"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  ReproPipeline.ModelSource source() {
    return storage -> {
      LlamaModel m = LlamaModel.load(root.resolve("models/stories260K"), storage);
      loaded.add(m);
      return m;
    };
  }

  ReproPipeline.Settings settings(
      int nRecords, boolean sequential, OptionalDouble override, boolean stats) {
    return new ReproPipeline.Settings(
        hp,
        records.subList(0, nRecords),
        ContextTemplates.bare(),
        42,
        1,
        true,
        sequential,
        override,
        stats,
        false);
  }

  static Path root() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("mvnw"))) {
      p = p.getParent();
    }
    return p;
  }

  /**
   * NaN/inf entries of a tensor counted from its raw bits, independently of the engine's decoding:
   * an FP16 value is non-finite when its 5 exponent bits are all ones, a BF16 value when its 8 are,
   * an FP32 value when its 8 are.
   */
  static long nonFiniteFromBits(io.nanscope.engine.tensor.Tensor t) {
    FloatFormat f = t.format();
    var seg = t.segment();
    long n = 0;
    if (f == FloatFormat.FP16 || f == FloatFormat.BF16) {
      int mask = f == FloatFormat.FP16 ? 0x7C00 : 0x7F80;
      for (long i = 0; i < t.size(); i++) {
        short s = seg.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i);
        if ((s & mask) == mask) {
          n++;
        }
      }
    } else if (f == FloatFormat.FP32) {
      for (long i = 0; i < t.size(); i++) {
        int b = seg.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
        if ((b & 0x7F800000) == 0x7F800000) {
          n++;
        }
      }
    } else {
      throw new IllegalArgumentException("no bit rule for " + f);
    }
    return n;
  }
}
