// Does the estimate of C limit what AlphaEdit's null-space projection preserves? (issue 11;
// docs/lab/2026-12-07-alphaedit-null-space.md). Two modes:
//
//   scripts/editing/alphaedit-null-space.sh sample OUT N SEED
//       N stories sampled from the embedded model (EasyEdit's generate_fast: top-k 40, 200
//       positions with BOS, empty prompt), one per paragraph (TextCorpus's plain-text form).
//   scripts/editing/alphaedit-null-space.sh proxy HPARAMS DATA THRESHOLDS C_CORPORA HELD_OUT
//       THRESHOLDS: comma list, e.g. 1e-3,2e-2; C_CORPORA: comma list of NAME=FILE:N (C from the
//       first N texts of FILE; FILE may be a '+'-joined list of NAME=FILE:N parts, taken in order);
//       HELD_OUT: comma list of NAME=FILE:FROM:TO (texts FROM..TO-1, never in a C).
//
// The proxy: AlphaEdit writes ΔW = X P (P = U₀U₀ᵀ, U₀ the eigenvectors of C with eigenvalue below
// the threshold), so at any key k it changes the output by ΔW k = X (P k): what an edit can do at k is
// bounded by the part of k inside the null space. For each layer, C corpus and threshold this prints
// the nullity (rank of P) and, per key set, the null-space energy share Σ‖P k‖² / Σ‖k‖²:
//   - "C's own keys": Σ_{null} λ / tr C, the in-sample share (small by construction);
//   - held-out texts (all positions);
//   - "locality probes": all positions of each probe's prompt + " " + answer, the tokens the
//     Locality metric reads (editing.eval.ModelProbes);
//   - "edit keys": the keys AlphaEdit writes at (editing.keys.LayerKeys: template-group means at
//     the subject's last token).
// The projection protects the probes only if their share is small next to the edit keys' share;
// "probe/edit" is that ratio (1 = P cannot tell them apart). Unedited model, FP32 forward, FP64
// algebra; C exactly as `nanscope edit` computes it (editing.stats.KeyStatistics, 256 tokens).
import io.nanscope.editing.hparams.AlphaEditHyperParams;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.keys.LayerKeys;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.PromptAnswer;
import io.nanscope.editing.request.RomeRequest;
import io.nanscope.editing.stats.KeyStatistics;
import io.nanscope.editing.stats.TextCorpus;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.linalg.SymmetricEigen;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.Hooks;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.model.SequenceBatch;
import io.nanscope.llama.model.SequenceOutput;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

public class NullSpaceCheck {
  static final Path DIR = Path.of("models/stories260K");
  static final PrecisionPolicy FP32 = PrecisionPolicy.named("fp32");
  static final OpContext CTX = OpContext.DEFAULT;
  static final int MAX_TOKENS = 256;

  public static void main(String[] a) throws Exception {
    LlamaModel m = LlamaModel.load(DIR, FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(DIR);
    switch (a[0]) {
      case "sample" -> sample(m, tok, Path.of(a[1]), Integer.parseInt(a[2]), Long.parseLong(a[3]));
      case "proxy" -> proxy(m, tok, a);
      default -> throw new IllegalArgumentException("mode: sample or proxy, not " + a[0]);
    }
  }

  static void sample(LlamaModel m, Tokenizer tok, Path out, int n, long seed) throws Exception {
    GenerateFast g = new GenerateFast(m, tok, FP32, CTX);
    SplittableRandom rng = new SplittableRandom(seed);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      // one paragraph per story: blank lines would split it, so whitespace runs become one space
      String s = g.generateOne("", 200, 40, rng).replaceAll("\\s+", " ").strip();
      sb.append(s).append(i + 1 < n ? "\n\n" : "\n");
    }
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, sb.toString(), StandardCharsets.UTF_8);
    System.out.printf(Locale.ROOT, "wrote %d sampled stories (seed %d) to %s%n", n, seed, out);
  }

  static void proxy(LlamaModel m, Tokenizer tok, String[] a) throws Exception {
    AlphaEditHyperParams hp = HyperParamsYaml.readAlphaEdit(Path.of(a[1])).hparams();
    List<EditRequest> rs = EditDatasets.knowEdit(Path.of(a[2]));
    double[] thresholds = Arrays.stream(a[3].split(",")).mapToDouble(Double::parseDouble).toArray();
    Map<String, List<String>> cCorpora = new LinkedHashMap<>();
    for (String spec : a[4].split(",")) {
      String[] nv = spec.split("=", 2);
      List<String> texts = new ArrayList<>();
      for (String part : nv[1].split("\\+")) {
        int colon = part.lastIndexOf(':');
        texts.addAll(
            TextCorpus.read(Path.of(part.substring(0, colon)))
                .first(Long.parseLong(part.substring(colon + 1))));
      }
      cCorpora.put(nv[0], texts);
    }
    Map<String, List<String>> heldOut = new LinkedHashMap<>();
    for (String spec : a[5].split(",")) {
      String[] nv = spec.split("=", 2);
      String[] f = nv[1].split(":");
      List<String> all = TextCorpus.read(Path.of(f[0])).texts();
      heldOut.put(nv[0], all.subList(Integer.parseInt(f[1]), Integer.parseInt(f[2])));
    }
    List<String> probes = new ArrayList<>();
    for (EditRequest r : rs) {
      for (List<PromptAnswer> items : r.locality().values()) {
        for (PromptAnswer pa : items) {
          probes.add(pa.prompt() + " " + pa.answer());
        }
      }
    }
    TemplateGroups t = TemplateGroups.sample(new GenerateFast(m, tok, FP32, CTX), 42, "seed 42");
    List<LayerKeys.Prompt> ps =
        rs.stream()
            .map(r -> {
              RomeRequest q = r.forRome();
              return new LayerKeys.Prompt(q.promptTemplate(), q.subject());
            })
            .toList();
    System.out.printf(
        Locale.ROOT,
        "%s, %d records from %s (%d locality probes), thresholds %s%n",
        a[1],
        rs.size(),
        a[2],
        probes.size(),
        a[3]);
    for (int layer : hp.layers()) {
      Map<String, double[][]> keySets = new LinkedHashMap<>();
      for (var e : heldOut.entrySet()) {
        keySets.put("held-out " + e.getKey(), allPositionKeys(m, tok, layer, e.getValue()));
      }
      keySets.put("locality probes", allPositionKeys(m, tok, layer, probes));
      double[][] ek = LayerKeys.keys(m, tok, FP32, CTX, layer, t, ps); // (F, n)
      keySets.put("edit keys", transpose(ek));
      for (var c : cCorpora.entrySet()) {
        int f = m.config().hiddenDim();
        double[] flat =
            KeyStatistics.compute(
                    m, tok, FP32, CTX, layer, c.getValue(), MAX_TOKENS, Optional.empty(), i -> {})
                .moment();
        double[][] cm = new double[f][f];
        for (int i = 0; i < f; i++) {
          System.arraycopy(flat, i * f, cm[i], 0, f);
        }
        SymmetricEigen eig = SymmetricEigen.of(cm);
        double trace = Arrays.stream(eig.values()).map(Math::abs).sum();
        double[] sorted = eig.values().clone();
        Arrays.sort(sorted);
        System.out.printf(
            Locale.ROOT,
            "%nlayer %d, C from %s (%d texts): eigenvalues min %.3g, median %.3g, max %.3g%n",
            layer,
            c.getKey(),
            c.getValue().size(),
            sorted[0],
            sorted[f / 2],
            sorted[f - 1]);
        StringBuilder head = new StringBuilder("| threshold | nullity | C's own keys |");
        for (String k : keySets.keySet()) {
          head.append(' ').append(k).append(" |");
        }
        head.append(" probe/edit |");
        System.out.println(head);
        System.out.println("|---".repeat(keySets.size() + 4) + "|");
        for (double thr : thresholds) {
          List<double[]> null0 = new ArrayList<>();
          double inSample = 0;
          for (int k = 0; k < f; k++) {
            if (Math.abs(eig.values()[k]) < thr) {
              double[] u = new double[f];
              for (int i = 0; i < f; i++) {
                u[i] = eig.vectors()[i][k];
              }
              null0.add(u);
              inSample += Math.abs(eig.values()[k]);
            }
          }
          StringBuilder row =
              new StringBuilder(
                  String.format(
                      Locale.ROOT,
                      "| %s | %d | %.4f |",
                      a[3].split(",")[indexOf(thresholds, thr)],
                      null0.size(),
                      inSample / trace));
          double probe = 0, edit = 0;
          for (var ks : keySets.entrySet()) {
            double share = nullShare(null0, ks.getValue());
            row.append(String.format(Locale.ROOT, " %.4f |", share));
            if (ks.getKey().equals("locality probes")) {
              probe = share;
            } else if (ks.getKey().equals("edit keys")) {
              edit = share;
            }
          }
          row.append(String.format(Locale.ROOT, " %.2f |", edit > 0 ? probe / edit : Double.NaN));
          System.out.println(row);
        }
      }
    }
  }

  static int indexOf(double[] v, double x) {
    for (int i = 0; i < v.length; i++) {
      if (v[i] == x) {
        return i;
      }
    }
    return -1;
  }

  /** Σ‖P k‖² / Σ‖k‖² with P = Σ u uᵀ over the orthonormal null-space vectors u. */
  static double nullShare(List<double[]> null0, double[][] keys) {
    double num = 0, den = 0;
    for (double[] k : keys) {
      for (double[] u : null0) {
        double d = 0;
        for (int i = 0; i < k.length; i++) {
          d += u[i] * k[i];
        }
        num += d * d;
      }
      for (double x : k) {
        den += x * x;
      }
    }
    return num / den;
  }

  /** The down_proj input at every position (BOS included) of every text: one row per key. */
  static double[][] allPositionKeys(LlamaModel m, Tokenizer tok, int layer, List<String> texts) {
    List<double[]> rows = new ArrayList<>();
    for (String text : texts) {
      int[] ids = tok.encode(text, true, false);
      ids = Arrays.copyOf(ids, Math.min(ids.length, Math.min(MAX_TOKENS, m.config().maxSeqLen())));
      Hooks hooks = Hooks.none();
      for (int p = 0; p < ids.length; p++) {
        hooks = hooks.captureDownProjInput(layer, 0, p);
      }
      SequenceOutput out = m.forward(new SequenceBatch(new int[][] {ids}), FP32, CTX, null, hooks);
      for (int p = 0; p < ids.length; p++) {
        float[] k = out.captured(Hooks.downProjInputKey(layer, 0, p));
        double[] d = new double[k.length];
        for (int i = 0; i < k.length; i++) {
          d[i] = k[i];
        }
        rows.add(d);
      }
    }
    return rows.toArray(double[][]::new);
  }

  static double[][] transpose(double[][] x) {
    double[][] y = new double[x[0].length][x.length];
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < x[0].length; j++) {
        y[j][i] = x[i][j];
      }
    }
    return y;
  }
}
