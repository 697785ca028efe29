package io.nanscope.editing.save;

import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.io.AtomicFile;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.HfCheckpoint;
import io.nanscope.llama.weights.LlamaWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The files of a Hugging Face Llama directory, written into an existing (staging) directory: {@code
 * config.json}, {@code model.safetensors} (q/k rows in rotate_half order), the tokenizer files, and
 * the {@code LICENSE*} files of the source model's folder. Every file goes through {@link
 * AtomicFile}; callers wrap this in a {@code StagedDirectory} so the directory appears only when
 * complete.
 */
public final class HfDirectory {

  /** Licence files beside a model are copied up to this size (the Llama 2 licence is 7 KB). */
  public static final long MAX_LICENCE_BYTES = 1 << 20;

  private HfDirectory() {}

  /**
   * Writes {@code w} in {@code format} with {@code tok}'s HF files into {@code dir}, and copies the
   * regular {@code LICENSE*} files of {@code licenceDir} (null: none).
   *
   * @return the licence files NOT copied and why (symbolic links, FIFOs, oversized files), for a
   *     warning
   */
  public static List<String> write(
      LlamaWeights w, FloatFormat format, Tokenizer tok, Path licenceDir, Path dir)
      throws IOException {
    HfCheckpoint.write(w, format, dir, 0);
    tok.writeHfFiles(dir);
    return licenceDir == null ? List.of() : copyLicences(licenceDir, dir);
  }

  /**
   * Copies the {@code LICENSE*} files of {@code from} into {@code dir}: regular files only, never
   * following a link out of the folder, never reading a FIFO or device, at most {@link
   * #MAX_LICENCE_BYTES} each (a folder people share must not receive a private file by accident).
   */
  public static List<String> copyLicences(Path from, Path dir) throws IOException {
    List<String> skipped = new ArrayList<>();
    try (var files = Files.list(from)) {
      for (Path p :
          files.filter(p -> p.getFileName().toString().startsWith("LICENSE")).sorted().toList()) {
        if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          skipped.add(p.getFileName() + " (a symbolic link or not a regular file)");
        } else if (Files.size(p) > MAX_LICENCE_BYTES) {
          skipped.add(p.getFileName() + " (" + Files.size(p) + " bytes, more than a licence)");
        } else {
          AtomicFile.write(dir.resolve(p.getFileName()), out -> Files.copy(p, out));
        }
      }
    }
    return skipped;
  }
}
