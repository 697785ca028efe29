// How much of its own residual each request of a MEMIT batch gets written at its key, and how much
// of the other requests' residuals leaks in: a diagnostic of why a MEMIT batch of all 15 in-domain
// records does not edit (docs/lab/2026-12-06-memit-alphaedit.md).
//
//   scripts/editing/memit-batch-share.sh [HPARAMS.yaml] [DATA.json] [N]
//
// MEMIT's update at an edit layer is ΔW = R Kᵀ (λC + K Kᵀ)⁻¹ (K: (F, n) keys, R: (C, n) residuals).
// By Woodbury, ΔW K = R H with H = G (I + G)⁻¹ and G = Kᵀ (λC)⁻¹ K (n, n): the change written at
// request j's key is Σ_i R_i H_ij. H_jj is the share of its own residual request j gets; for a
// single edit that is a/(1 + a), a = G_jj. The off-diagonal H_ij are the other requests' residuals
// written at k_j. Keys: MEMIT's (template-group means of the down_proj input at the subject's last
// token) on the UNEDITED model for every edit layer (EasyEdit computes a later layer's keys after the
// earlier layers are edited; this diagnostic ignores that), C from mom2_dataset as `edit` computes
// it, λ = mom2_update_weight, FP32 forward, FP64 algebra.
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.MemitHyperParams;
import io.nanscope.editing.keys.LayerKeys;
import io.nanscope.editing.keys.TemplateGroups;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.request.RomeRequest;
import io.nanscope.editing.stats.KeyStatistics;
import io.nanscope.editing.stats.TextCorpus;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.linalg.Cholesky;
import io.nanscope.engine.linalg.LuSolve;
import io.nanscope.engine.linalg.SymmetricEigen;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

public class MemitBatchShare {
  public static void main(String[] a) throws Exception {
    Path hpFile = Path.of(a.length > 0 ? a[0] : "configs/memit/stories260K.yaml");
    Path data = Path.of(a.length > 1 ? a[1] : "configs/edits/tinystories-edits.json");
    MemitHyperParams hp = HyperParamsYaml.readMemit(hpFile).hparams();
    Path dir = Path.of("models/stories260K");
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    OpContext ctx = OpContext.DEFAULT;
    LlamaModel m = LlamaModel.load(dir, FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(dir);
    TemplateGroups t = TemplateGroups.sample(new GenerateFast(m, tok, fp32, ctx), 42, "seed 42");
    List<EditRequest> rs = EditDatasets.knowEdit(data);
    if (a.length > 2) {
      rs = rs.subList(0, Integer.parseInt(a[2]));
    }
    List<LayerKeys.Prompt> ps =
        rs.stream()
            .map(r -> {
              RomeRequest q = r.forRome();
              return new LayerKeys.Prompt(q.promptTemplate(), q.subject());
            })
            .toList();
    List<String> texts =
        TextCorpus.read(Path.of(hp.secondMoment().dataset())).first(hp.secondMoment().nSamples());
    double lambda = hp.mom2UpdateWeight();
    int n = rs.size();
    System.out.printf(Locale.ROOT, "%s, %d requests from %s, lambda %s%n", hpFile, n, data, lambda);
    for (int layer : hp.layers()) {
      double[][] k = LayerKeys.keys(m, tok, fp32, ctx, layer, t, ps); // (F, n)
      int f = k.length;
      double[] cFlat =
          KeyStatistics.compute(m, tok, fp32, ctx, layer, texts, 256, Optional.empty(), i -> {})
              .moment();
      double[][] lc = new double[f][f];
      for (int i = 0; i < f; i++) {
        for (int j = 0; j < f; j++) {
          lc[i][j] = lambda * cFlat[i * f + j];
        }
      }
      double[][] x = Cholesky.solveSpd(lc, k); // (λC)⁻¹ K: (F, n)
      double[][] g = new double[n][n];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          double s = 0;
          for (int p = 0; p < f; p++) {
            s += k[p][i] * x[p][j];
          }
          g[i][j] = s;
        }
      }
      for (int i = 0; i < n; i++) { // symmetrise the FP64 round-off
        for (int j = i + 1; j < n; j++) {
          double s = 0.5 * (g[i][j] + g[j][i]);
          g[i][j] = s;
          g[j][i] = s;
        }
      }
      double[][] ipg = new double[n][n];
      for (int i = 0; i < n; i++) {
        ipg[i] = g[i].clone();
        ipg[i][i] += 1;
      }
      // H = G (I + G)⁻¹ = ((I + G)⁻¹ G)ᵀ; both symmetric and commuting, so H = (I + G)⁻¹ G
      double[][] h = LuSolve.solve(ipg, g);
      double[] single = new double[n], own = new double[n], leak = new double[n];
      for (int j = 0; j < n; j++) {
        single[j] = g[j][j] / (1 + g[j][j]);
        own[j] = h[j][j];
        double s = 0;
        for (int i = 0; i < n; i++) {
          if (i != j) {
            s += Math.abs(h[i][j]);
          }
        }
        leak[j] = s;
      }
      double[] ev = SymmetricEigen.of(g).values().clone();
      Arrays.sort(ev);
      System.out.printf(
          Locale.ROOT,
          "layer %d (F = %d): eigenvalues of G = Kᵀ(λC)⁻¹K min %.3g, median %.3g, max %.3g"
              + " (condition %.3g)%n",
          layer,
          f,
          ev[0],
          ev[n / 2],
          ev[n - 1],
          ev[n - 1] / ev[0]);
      System.out.printf(
          Locale.ROOT,
          "  own share H_jj: single edit median %.3f (min %.3f, max %.3f); in the batch median %.3f"
              + " (min %.3f, max %.3f)%n",
          median(single),
          min(single),
          max(single),
          median(own),
          min(own),
          max(own));
      System.out.printf(
          Locale.ROOT,
          "  others' residuals written at k_j, Σ_i≠j |H_ij|: median %.3f (min %.3f, max %.3f)%n",
          median(leak),
          min(leak),
          max(leak));
      for (int j = 0; j < n; j++) {
        System.out.printf(
            Locale.ROOT,
            "  %-14s single %.3f  batch own %.3f  others %.3f%n",
            rs.get(j).subject(),
            single[j],
            own[j],
            leak[j]);
      }
    }
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
  }

  static double min(double[] v) {
    return Arrays.stream(v).min().orElse(Double.NaN);
  }

  static double max(double[] v) {
    return Arrays.stream(v).max().orElse(Double.NaN);
  }
}
