// Soak: N sequential ROME edits on the embedded model in one process, resident memory sampled as
// it goes.
//
//   scripts/soak.sh [--edits 1000] [--every 50] [--restore] [--threads 1] [--hparams FILE]
//
// The 15 records of configs/edits/tinystories-edits.json are edited in turn (record i % 15 at edit
// i), with configs/rome/stories260K.yaml (or --hparams), FP32, the context templates sampled once
// (seed 42), through the same EditSession loop as `nanscope edit --sequential` (no pre-edit
// metrics, no fluency). Every `--every` edits it prints one line: the edit, VmRSS and VmHWM from
// /proc/self/status, the heap in use after a full GC, the committed heap, the non-heap in use
// (metaspace, code cache), the wall time, the rewrite accuracy of the record just edited on the
// edited model, and whether every written weight is still finite. At the end: the sha256 of every
// down_proj the edits wrote (equal across runs and thread counts; SequentialEditDeterminismTest
// checks that with a small count) and the bound (withinBound): exit code 1 when it is exceeded.
import io.nanscope.editing.eval.Evaluator;
import io.nanscope.editing.eval.ModelProbes;
import io.nanscope.editing.hparams.HyperParamsYaml;
import io.nanscope.editing.hparams.RomeHyperParams;
import io.nanscope.editing.keys.ContextTemplates;
import io.nanscope.editing.keys.EditLog;
import io.nanscope.editing.request.EditDatasets;
import io.nanscope.editing.request.EditRequest;
import io.nanscope.editing.rome.RomeEditor;
import io.nanscope.editing.session.EditContext;
import io.nanscope.editing.session.EditSession;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.tensor.Tensor;
import io.nanscope.llama.generate.GenerateFast;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.weights.WeightNames;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

public class Soak {
  public static void main(String[] args) throws Exception {
    int edits = 1000, every = 50, threads = 1;
    boolean keep = true;
    Path hparams = Path.of("configs/rome/stories260K.yaml");
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--edits" -> edits = Integer.parseInt(args[++i]);
        case "--every" -> every = Integer.parseInt(args[++i]);
        case "--threads" -> threads = Integer.parseInt(args[++i]);
        case "--restore" -> keep = false;
        case "--hparams" -> hparams = Path.of(args[++i]);
        default -> {
          System.err.println("soak: unknown argument " + args[i]
              + "; expected --edits N --every K --threads T --restore --hparams FILE");
          System.exit(2);
        }
      }
    }
    Path modelDir = Path.of("models/stories260K");
    PrecisionPolicy fp32 = PrecisionPolicy.named("fp32");
    OpContext ctx = OpContext.DEFAULT.withThreads(threads);
    LlamaModel model = LlamaModel.load(modelDir, FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(modelDir);
    RomeHyperParams h = HyperParamsYaml.readRome(hparams).hparams();
    List<EditRequest> data = EditDatasets.read(Path.of("configs/edits/tinystories-edits.json"));
    ContextTemplates templates = ContextTemplates.sample(new GenerateFast(model, tok, fp32, ctx),
        h.contextTemplateLengthParams(), 42, "soak");
    List<EditRequest> records = new ArrayList<>();
    for (int i = 0; i < edits; i++) {
      records.add(data.get(i % data.size()));
    }
    Evaluator evaluator = new Evaluator(new ModelProbes(model, tok, fp32, ctx), null);
    TreeSet<Integer> written = new TreeSet<>();
    long t0 = System.nanoTime();
    final int k = every;
    System.out.printf(Locale.ROOT,
        "soak: %d %s ROME edits, stories260K, %s, fp32, %d thread(s), %s%n",
        edits, keep ? "sequential (kept)" : "single (restored)", hparams, threads,
        ManagementFactory.getRuntimeMXBean().getInputArguments());
    System.out.println("edit  rss_mb  hwm_mb  heap_used_mb  heap_committed_mb  nonheap_used_mb"
        + "  seconds"
        + "  rewrite_acc  weights_finite");
    sample(0, t0, Double.NaN, true);
    EditSession.run(model, new RomeEditor(model, tok, h, templates, null),
        EditContext.of(fp32, ctx, EditLog.NONE),
        new EditSession.Plan(records, 1, keep, false),
        new EditSession.Hooks<Void>() {
          @Override
          public Void after(EditSession.Applied a, List<Evaluator.Evaluated> pre) {
            a.update().changes().forEach(c -> written.add(c.layer()));
            int done = a.edit() + 1;
            if (done % k == 0) {
              double acc = evaluator.evaluate(a.batch().getFirst(), null).metrics().rewriteAcc()
                  .stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
              sample(done, t0, acc, finite(model, written));
            }
            return null;
          }
        });
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    for (int layer : written) {
      md.update(model.weights().get(layer, WeightNames.Layer.W_DOWN).segment()
          .toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }
    System.out.println("written layers " + written + ", sha256 of their down_proj "
        + HexFormat.of().formatHex(md.digest()));
    if (!withinBound()) {
      System.exit(1);
    }
  }

  static boolean finite(LlamaModel model, TreeSet<Integer> layers) {
    for (int layer : layers) {
      Tensor t = model.weights().get(layer, WeightNames.Layer.W_DOWN);
      for (long i = 0; i < t.size(); i++) {
        if (!Float.isFinite(t.get(i))) {
          return false;
        }
      }
    }
    return true;
  }

  static final List<double[]> SAMPLES = new ArrayList<>(); // {edit, rss, live heap}

  static void sample(int edit, long t0, double acc, boolean finite) {
    System.gc();
    Runtime rt = Runtime.getRuntime();
    double heap = (rt.totalMemory() - rt.freeMemory()) / 1048576.0;
    double nonHeap =
        ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage().getUsed() / 1048576.0;
    double rss = status("VmRSS");
    SAMPLES.add(new double[] {edit, rss, heap});
    System.out.printf(Locale.ROOT,
        "%4d  %6.1f  %6.1f  %12.1f  %17.1f  %15.1f  %7.1f  %11.3f  %s%n", edit, rss,
        status("VmHWM"), heap, rt.totalMemory() / 1048576.0, nonHeap,
        (System.nanoTime() - t0) / 1e9, acc, finite);
  }

  /**
   * The stated bound: the live heap after a full GC grows by at most 1 MB from the first sample
   * after warm-up (edit `every`) to the last (nothing is retained per edit), and RSS stays below
   * the heap limit plus 160 MB (metaspace, code cache, thread stacks, GC structures).
   */
  static boolean withinBound() {
    double maxHeap = Runtime.getRuntime().maxMemory() / 1048576.0;
    double firstLive = SAMPLES.size() > 1 ? SAMPLES.get(1)[2] : SAMPLES.get(0)[2];
    double lastLive = SAMPLES.getLast()[2];
    double maxRss = SAMPLES.stream().mapToDouble(x -> x[1]).max().orElse(Double.NaN);
    boolean ok = lastLive - firstLive <= 1.0 && !(maxRss > maxHeap + 160);
    System.out.printf(Locale.ROOT,
        "bound: live heap %.1f -> %.1f MB (growth <= 1 MB), max RSS %.1f MB"
            + " (<= heap limit %.0f + 160 MB): %s%n",
        firstLive, lastLive, maxRss, maxHeap, ok ? "WITHIN" : "EXCEEDED");
    return ok;
  }

  /** A /proc/self/status field in MB (Linux only; NaN elsewhere). */
  static double status(String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (java.io.IOException e) {
      // not Linux
    }
    return Double.NaN;
  }
}
