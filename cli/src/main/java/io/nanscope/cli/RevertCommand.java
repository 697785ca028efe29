package io.nanscope.cli;

import io.nanscope.editing.save.SavedEdit;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code nanscope revert}: undoes {@code edit --save}, bit for bit. */
@Command(
    name = "revert",
    header = "Restores the original model from a directory written by 'edit --save', bit for bit.",
    mixinStandardHelpOptions = true,
    description = {
      "Reads DIR's edit-manifest.json, checks the saved weights and the stored originals against its",
      "sha256 values, puts the original tensors back and checks them again. With --out the reverted",
      "model goes to a new directory and DIR is left as it is; without, DIR is reverted in place",
      "(model.safetensors replaced atomically, then the manifest and originals removed; a revert",
      "that was interrupted is finished by running it again)."
    })
public final class RevertCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Parameters(paramLabel = "DIR", description = "a directory written by 'nanscope edit --save'")
  Path dir;

  @Option(
      names = "--out",
      paramLabel = "DIR2",
      description =
          "write the reverted model here (must not exist or be empty) instead of in place")
  Path out;

  @Override
  public Integer call() throws IOException {
    long t0 = System.nanoTime();
    SavedEdit.Reverted r = SavedEdit.revert(dir, out);
    spec.commandLine()
        .getOut()
        .printf(
            java.util.Locale.ROOT,
            "reverted %d tensor(s)%s into %s; each holds the sha256 of the original (%.2f s)%n",
            r.tensors(),
            r.alreadyReverted() ? " (they already held the original bits)" : "",
            r.dir(),
            (System.nanoTime() - t0) / 1e9);
    return 0;
  }
}
