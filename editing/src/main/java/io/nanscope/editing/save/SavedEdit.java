package io.nanscope.editing.save;

import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.session.WeightUpdate;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.io.AtomicFile;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.config.LlamaConfig;
import io.nanscope.llama.config.RopeLayout;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.HfCheckpoint;
import io.nanscope.llama.weights.LlamaWeights;
import io.nanscope.llama.weights.SafetensorsFile;
import io.nanscope.llama.weights.SafetensorsWriter;
import io.nanscope.llama.weights.StagedDirectory;
import io.nanscope.llama.weights.TensorDigest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An edited model saved so that it can be undone: {@code nanscope edit --save DIR} writes DIR as a
 * Hugging Face directory ({@link HfDirectory}, as {@code convert} does) with the edited weights,
 * plus {@value #MANIFEST} ({@link EditManifest}) and {@value #ORIGINALS}, the original values of
 * every tensor whose bits the edits changed. {@link #revert} puts those back and checks the result
 * against the manifest's sha256 values, bit for bit.
 *
 * <p>"Original" means the source model as the edit session loaded it: in the policy's storage
 * format (an FP32 file edited under {@code pytorch-fp16} is saved, and reverted, as FP16: the same
 * bits {@code convert --dtype f16} writes). Digests are over the bytes the safetensors files hold
 * ({@link TensorDigest}); both weight sets are compared in the saved directory's q/k row order.
 */
public final class SavedEdit {

  public static final String MANIFEST = "edit-manifest.json";
  public static final String ORIGINALS = "edit-original.safetensors";

  /** Tokenizer and licence files a saved directory carries besides config and weights. */
  static final List<String> TOKENIZER_FILES =
      List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");

  private SavedEdit() {}

  /**
   * What the edits were, for the manifest.
   *
   * @param sourceModel the edited model's path as given
   * @param tool the tool and version
   * @param hparamsFile the hyperparameter file (its text and sha256 go into the manifest)
   * @param algorithm EasyEdit's {@code alg_name}
   * @param policy the precision policy's name
   * @param updates every update of the session, in order (refused ones included)
   */
  public record Edits(
      Path sourceModel,
      String tool,
      Path hparamsFile,
      String algorithm,
      String policy,
      List<WeightUpdate> updates) {
    public Edits {
      updates = List.copyOf(updates);
    }
  }

  /** What {@link #save} wrote: the directory and the changed tensors. */
  public record Saved(Path dir, EditManifest manifest) {}

  /**
   * Writes {@code edited} (with {@code tok}'s files and the licences of {@code licenceDir}) to
   * {@code dir}, which must not exist or be empty, plus the manifest and the originals of every
   * tensor whose bits differ from {@code original}. The directory appears only when complete
   * ({@link StagedDirectory}); the written tensors are read back and checked against the manifest
   * before it does.
   *
   * @param original the source model as loaded, before any edit, in the same storage format
   */
  public static Saved save(
      LlamaWeights original,
      LlamaWeights edited,
      Tokenizer tok,
      Path licenceDir,
      Edits edits,
      Path dir)
      throws IOException {
    FloatFormat format = uniformFormat(edited, "the edited model");
    if (uniformFormat(original, "the source model") != format) {
      throw new IllegalArgumentException(
          "the source model is stored in "
              + uniformFormat(original, "the source model")
              + ", the edited model in "
              + format
              + ": load both in the same storage format");
    }
    if (original.config().ropeLayout() != edited.config().ropeLayout()) {
      throw new IllegalArgumentException(
          "the source and the edited model order their q/k rows differently: not the same load");
    }
    Map<String, Tensor> before = original.byHfName();
    Map<String, Tensor> after = edited.byHfName();
    if (!before.keySet().equals(after.keySet())) {
      throw new IllegalArgumentException(
          "the source and the edited model have different tensors: not the same model");
    }
    // compared as loaded (a permutation keeps equality), hashed in the saved file's row order
    List<String> changed = new ArrayList<>();
    for (var e : before.entrySet()) {
      Tensor b = e.getValue();
      Tensor a = after.get(e.getKey());
      if (b.format() != a.format() || !b.shape().equals(a.shape())) {
        throw new IllegalArgumentException(
            e.getKey() + " is " + b + " in the source model but " + a + " in the edited one");
      }
      if (b.segment().mismatch(a.segment()) >= 0) {
        changed.add(e.getKey());
      }
    }
    boolean ropeRows =
        changed.stream().anyMatch(n -> n.endsWith("q_proj.weight") || n.endsWith("k_proj.weight"));
    if (ropeRows) { // only then are permuted copies needed (edits write down_proj today)
      before = original.withRopeLayout(RopeLayout.HF_ROTATE_HALF).byHfName();
      after = edited.withRopeLayout(RopeLayout.HF_ROTATE_HALF).byHfName();
    }
    List<EditManifest.TensorChange> changes = new ArrayList<>();
    List<SafetensorsWriter.Item> originals = new ArrayList<>();
    for (String name : changed) {
      Tensor b = before.get(name);
      Tensor a = after.get(name);
      changes.add(change(name, b, TensorDigest.sha256(b), TensorDigest.sha256(a)));
      originals.add(SafetensorsWriter.Item.of(name, b));
    }
    byte[] hparamsBytes = Files.readAllBytes(edits.hparamsFile());
    List<EditManifest.Edit> editList = new ArrayList<>();
    for (int i = 0; i < edits.updates().size(); i++) {
      WeightUpdate u = edits.updates().get(i);
      List<EditManifest.Request> requests = new ArrayList<>();
      for (EditRequest r : u.batch()) {
        requests.add(new EditManifest.Request(r.subject(), r.prompt(), r.targetNew()));
      }
      editList.add(
          new EditManifest.Edit(
              i,
              !u.refused(),
              requests,
              u.refused() ? List.of() : u.changes().stream().map(c -> c.weightName()).toList()));
    }
    EditManifest[] manifest = new EditManifest[1];
    StagedDirectory.create(
        dir,
        staging -> {
          HfDirectory.write(edited, format, tok, licenceDir, staging);
          Path originalsFile = staging.resolve(ORIGINALS);
          SafetensorsWriter.write(
              originalsFile, originals, Map.of("format", "pt", "nanscope", "edit originals"));
          manifest[0] =
              new EditManifest(
                  EditManifest.VERSION,
                  edits.tool(),
                  edits.sourceModel().toString(),
                  edits.algorithm(),
                  new EditManifest.Hparams(
                      edits.hparamsFile().toString(),
                      HexFormat.of().formatHex(sha256().digest(hparamsBytes)),
                      new String(hparamsBytes, StandardCharsets.UTF_8)),
                  new EditManifest.Precision(edits.policy(), LlamaConfig.dtypeName(format)),
                  editList,
                  changes,
                  new EditManifest.Originals(ORIGINALS, fileSha256(originalsFile)));
          // read what was written back before the directory appears
          checkTensors(staging, manifest[0], true);
          AtomicFile.write(staging.resolve(MANIFEST), manifest[0].toJson());
        });
    return new Saved(dir, manifest[0]);
  }

  /** What {@link #revert} did. */
  public record Reverted(Path dir, int tensors, boolean alreadyReverted) {}

  /**
   * Restores the source model from a directory written by {@link #save}: checks the manifest, the
   * originals file's sha256 and each changed tensor (it must hold the manifest's bits after the
   * edit, or already the bits before it), then writes the original tensors and checks every one
   * against the manifest's sha256 before.
   *
   * <p>With {@code out}: a new directory (must not exist or be empty) holding the reverted model
   * and the tokenizer and licence files, without manifest and originals; {@code dir} is not
   * changed. Without: in place — {@code model.safetensors} is replaced atomically, then the
   * originals and the manifest are deleted, in that order. A revert killed in between is finished
   * by running it again (the tensors then already hold the original bits).
   *
   * @throws IllegalArgumentException (one line) for a missing or malformed manifest, a tampered or
   *     truncated tensor or originals file, or an unusable {@code out}
   */
  public static Reverted revert(Path dir, Path out) throws IOException {
    if (out != null) {
      StagedDirectory.checkTarget(out, "--out");
    }
    EditManifest m = EditManifest.read(dir.resolve(MANIFEST));
    if (!Files.isRegularFile(dir.resolve(HfCheckpoint.SINGLE))) {
      throw new IllegalArgumentException(
          dir + " has no " + HfCheckpoint.SINGLE + ": not a directory written by 'edit --save'");
    }
    LlamaWeights saved = HfCheckpoint.read(dir);
    FloatFormat format = uniformFormat(saved, dir.toString());
    boolean alreadyReverted = checkTensors(dir, m, false);
    LlamaWeights reverted = saved;
    if (!alreadyReverted) {
      Path originalsFile = dir.resolve(m.originals().file());
      if (!Files.isRegularFile(originalsFile, LinkOption.NOFOLLOW_LINKS)) {
        throw new IllegalArgumentException(
            originalsFile + " is missing: the original tensors are needed to revert");
      }
      String sha = fileSha256(originalsFile);
      if (!sha.equals(m.originals().sha256())) {
        throw new IllegalArgumentException(
            originalsFile
                + " has sha256 "
                + sha
                + ", the manifest says "
                + m.originals().sha256()
                + ": the originals were changed or truncated; cannot revert");
      }
      SafetensorsFile originals = SafetensorsFile.open(originalsFile);
      Map<String, Tensor> replacements = new LinkedHashMap<>();
      for (EditManifest.TensorChange c : m.tensors()) {
        if (!originals.names().contains(c.name())) {
          throw new IllegalArgumentException(
              originalsFile + " has no tensor " + c.name() + "; cannot revert");
        }
        Tensor t = originals.tensor(c.name());
        check(c, t, originalsFile.toString());
        if (!TensorDigest.sha256(t).equals(c.sha256Before())) {
          throw new IllegalArgumentException(
              c.name()
                  + " in "
                  + originalsFile
                  + " does not match the manifest's sha256_before; cannot revert");
        }
        replacements.put(c.name(), t);
      }
      reverted = saved.withTensors(replacements);
    }
    LlamaWeights w = reverted;
    if (out != null) {
      StagedDirectory.create(
          out,
          staging -> {
            HfCheckpoint.write(w, format, staging, 0);
            for (String name : TOKENIZER_FILES) {
              Path p = dir.resolve(name);
              if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                AtomicFile.write(staging.resolve(name), o -> Files.copy(p, o));
              }
            }
            HfDirectory.copyLicences(dir, staging);
            checkReverted(staging, m);
          });
      return new Reverted(out, m.tensors().size(), alreadyReverted);
    }
    if (!alreadyReverted) {
      HfCheckpoint.write(w, format, dir, 0);
    }
    checkReverted(dir, m);
    Files.deleteIfExists(dir.resolve(m.originals().file()));
    Files.deleteIfExists(dir.resolve(MANIFEST));
    AtomicFile.syncDirectory(dir);
    return new Reverted(dir, m.tensors().size(), alreadyReverted);
  }

  /**
   * Checks every changed tensor of {@code dir}'s {@code model.safetensors} against the manifest.
   *
   * @param afterOnly true: each must hold sha256_after (just saved); false: sha256_after, or
   *     sha256_before for all (a finished revert)
   * @return whether every tensor already holds its original bits
   */
  private static boolean checkTensors(Path dir, EditManifest m, boolean afterOnly)
      throws IOException {
    SafetensorsFile f = SafetensorsFile.open(dir.resolve(HfCheckpoint.SINGLE));
    int before = 0;
    for (EditManifest.TensorChange c : m.tensors()) {
      if (!f.names().contains(c.name())) {
        throw new IllegalArgumentException(
            f.source() + " has no tensor " + c.name() + " (named in the manifest); cannot revert");
      }
      Tensor t = f.tensor(c.name());
      check(c, t, f.source());
      String sha = TensorDigest.sha256(t);
      if (sha.equals(c.sha256After())) {
        continue;
      }
      if (!afterOnly && sha.equals(c.sha256Before())) {
        before++;
        continue;
      }
      throw new IllegalArgumentException(
          c.name()
              + " in "
              + f.source()
              + " matches neither the edited nor the original sha256 of the manifest: the"
              + " weights were changed after saving; cannot revert");
    }
    if (before > 0 && before < m.tensors().size()) {
      throw new IllegalArgumentException(
          f.source()
              + ": "
              + before
              + " of "
              + m.tensors().size()
              + " changed tensors hold their original bits and the rest the edited ones: the"
              + " directory was changed after saving; cannot revert");
    }
    return !m.tensors().isEmpty() && before == m.tensors().size();
  }

  /** Reads the reverted file back: every changed tensor must hold its sha256_before. */
  private static void checkReverted(Path dir, EditManifest m) throws IOException {
    SafetensorsFile f = SafetensorsFile.open(dir.resolve(HfCheckpoint.SINGLE));
    for (EditManifest.TensorChange c : m.tensors()) {
      if (!TensorDigest.sha256(f.tensor(c.name())).equals(c.sha256Before())) {
        throw new IllegalStateException(
            "after reverting, " + c.name() + " does not hold its original bits");
      }
    }
  }

  private static void check(EditManifest.TensorChange c, Tensor t, String source) {
    List<Long> dims = new ArrayList<>();
    for (long d : t.shape().dims()) {
      dims.add(d);
    }
    if (!LlamaConfig.dtypeName(t.format()).equals(c.dtype()) || !dims.equals(c.shape())) {
      throw new IllegalArgumentException(
          c.name()
              + " in "
              + source
              + " is "
              + LlamaConfig.dtypeName(t.format())
              + " "
              + dims
              + ", the manifest says "
              + c.dtype()
              + " "
              + c.shape()
              + "; cannot revert");
    }
  }

  private static EditManifest.TensorChange change(
      String name, Tensor t, String before, String after) {
    List<Long> dims = new ArrayList<>();
    for (long d : t.shape().dims()) {
      dims.add(d);
    }
    return new EditManifest.TensorChange(
        name, LlamaConfig.dtypeName(t.format()), dims, before, after);
  }

  private static FloatFormat uniformFormat(LlamaWeights w, String what) {
    FloatFormat f = w.embedding().format();
    for (Tensor t : w.byHfName().values()) {
      if (t.format() != f) {
        throw new IllegalArgumentException(
            what + " mixes storage formats (" + f + " and " + t.format() + ")");
      }
    }
    return f;
  }

  private static String fileSha256(Path file) throws IOException {
    MessageDigest md = sha256();
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(md.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JDK has no SHA-256", e);
    }
  }
}
