// Pairwise cosine similarity of MEMIT's keys (template-group means, layers 1 and 2, FP32) between the
// records of the in-domain edit set: which requests of a batch ask for different values at nearly
// the same key. Run from the repository root after ./nanscope has built the CLI jar:
//   java --add-modules jdk.incubator.vector -cp cli/target/nanscope.jar scripts/editing/KeySimilarity.java
import io.nanscope.editing.keys.*;
import io.nanscope.editing.request.*;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.*;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.*;
public class KeySimilarity {
  public static void main(String[] a) throws Exception {
    Path dir = Path.of("models/stories260K");
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    LlamaModel m = LlamaModel.load(dir, FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(dir);
    TemplateGroups t = TemplateGroups.sample(new GenerateFast(m, tok, fp32, OpContext.DEFAULT), 42, "x");
    List<EditRequest> rs = EditDatasets.knowEdit(Path.of("configs/edits/tinystories-edits.json"));
    List<LayerKeys.Prompt> ps = rs.stream().map(r -> { RomeRequest q = r.forRome(); return new LayerKeys.Prompt(q.promptTemplate(), q.subject()); }).toList();
    for (int layer : new int[] {1, 2}) {
      double[][] k = LayerKeys.keys(m, tok, fp32, OpContext.DEFAULT, layer, t, ps);
      int n = rs.size();
      List<String> top = new ArrayList<>();
      double sum = 0; int cnt = 0;
      for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) {
        double d = 0, ni = 0, nj = 0;
        for (double[] row : k) { d += row[i] * row[j]; ni += row[i] * row[i]; nj += row[j] * row[j]; }
        double cos = d / Math.sqrt(ni * nj); sum += cos; cnt++;
        top.add(String.format(Locale.ROOT, "%.3f %s | %s", cos, rs.get(i).subject(), rs.get(j).subject()));
      }
      top.sort(Comparator.reverseOrder());
      System.out.printf(Locale.ROOT, "layer %d: mean pairwise cosine %.3f; top: %s%n", layer, sum / cnt, top.subList(0, 6));
    }
  }
}
