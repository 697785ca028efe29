package io.nanscope.cli.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.stats.Npz;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.Npy;
import java.nio.file.Files;
import org.junit.jupiter.api.Timeout;

/**
 * The configuration and data files the editing commands read, fuzzed against {@link InputContract}:
 * EasyEdit hyperparameter YAML (alias bombs, huge scalars), KnowEdit / CounterFact / zsRE JSON
 * (deep nesting), {@code .npz} statistics, {@code .npy} arrays, precision-policy YAML.
 */
class EditingReadersFuzzTest {

  @FuzzTest(maxDuration = "10s")
  @Timeout(30) // per input when fuzzing (Jazzer) and per seed in ./test
  void hparamsYaml(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("hparams.yaml"), data),
        d -> HyperParamsYaml.read(d.resolve("hparams.yaml")));
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30)
  void knowEditJson(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("data.json"), data),
        d -> EditDatasets.knowEdit(d.resolve("data.json")));
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30)
  void counterFactJson(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("data.json"), data),
        d -> EditDatasets.counterFact(d.resolve("data.json")));
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30)
  void zsreJson(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("data.json"), data),
        d -> EditDatasets.zsre(d.resolve("data.json")));
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30)
  void npz(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("stats.npz"), data),
        d -> Npz.read(d.resolve("stats.npz")));
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30)
  void npy(byte[] data) {
    InputContract.check(
        data.length, d -> Files.write(d.resolve("x.npy"), data), d -> Npy.read(d.resolve("x.npy")));
  }

  @FuzzTest(maxDuration = "10s")
  @Timeout(30)
  void policyYaml(byte[] data) {
    InputContract.check(
        data.length,
        d -> Files.write(d.resolve("policy.yaml"), data),
        d -> PrecisionPolicy.fromMap(HyperParamsYaml.readRaw(d.resolve("policy.yaml"))));
  }
}
