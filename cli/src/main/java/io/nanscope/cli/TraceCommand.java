package io.nanscope.cli;

import io.nanscope.editing.hparams.Policies;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.FirstNonFinite;
import io.nanscope.engine.trace.FloorTable;
import io.nanscope.engine.trace.Numbers;
import io.nanscope.engine.trace.Phase;
import io.nanscope.engine.trace.SiteStats;
import io.nanscope.engine.trace.StatsTable;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import io.nanscope.llama.trace.PromptTrace;
import io.nanscope.report.Report;
import io.nanscope.report.TraceReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code nanscope trace}: the per-site headroom table of one pass over a prompt. */
@Command(
    name = "trace",
    header =
        "Per-site max|x| and FP16/BF16 headroom of a prompt under a precision policy, forward and backward.",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the model on a prompt under a precision policy and prints, for every op output (site),",
      "max|x|, the headroom to FP16's and BF16's largest value (log2 maxFinite/max|x|, in binades)",
      "and the overflow/underflow/subnormal/NaN/inf counts, tightest sites marked. --backward also",
      "runs the backward pass of the next-token NLL. Compare --policy pytorch-fp16 with naive-fp16 to",
      "see what PyTorch's FP32 upcasts protect."
    })
public final class TraceCommand implements Callable<Integer> {

  /** Rows of the floor-headroom table. */
  static final int FLOOR_ROWS = 6;

  @Spec CommandSpec spec;

  @Option(
      names = "--model",
      paramLabel = "PATH",
      description = "model (default: models/stories260K)")
  Path model;

  @Option(
      names = "--prompt",
      required = true,
      paramLabel = "TEXT",
      description = "the prompt (BOS is prepended)")
  String prompt;

  @Option(
      names = "--policy",
      required = true,
      paramLabel = "NAME",
      description =
          "precision policy: fp32, pytorch-fp16, pytorch-bf16, naive-fp16, naive-bf16, strict-fp16, strict-bf16,"
              + " a policy YAML file, or the name of one in configs/precision/")
  String policyName;

  @Option(
      names = "--backward",
      description = "also trace the backward pass of the next-token NLL (every weight a parameter)")
  boolean backward;

  @Option(
      names = "--threads",
      defaultValue = "1",
      description = "GEMM threads (results do not depend on it)")
  int threads;

  @Option(
      names = "--tightest",
      defaultValue = "5",
      paramLabel = "N",
      description = "mark the N tightest sites (default: ${DEFAULT-VALUE})")
  int tightest;

  @Option(
      names = "--rank-by",
      defaultValue = "fp16",
      paramLabel = "FORMAT",
      description =
          "format whose headroom ranks the tightest sites: fp16 or bf16 (default: ${DEFAULT-VALUE})")
  String rankBy;

  @Option(
      names = "--jsonl",
      paramLabel = "FILE",
      description = "write every stats row and anomaly event as JSON Lines")
  Path jsonl;

  @Option(
      names = "--report",
      paramLabel = "FILE.html",
      description = "write a self-contained HTML report (PNGs beside it)")
  Path report;

  @Override
  public Integer call() throws IOException {
    PrintWriter o = spec.commandLine().getOut();
    if (prompt.isBlank()) {
      throw new IllegalArgumentException(
          "--prompt is empty: pass some text, e.g. --prompt \"Once upon a time\"");
    }
    if (tightest < 0) {
      throw new IllegalArgumentException("--tightest must be >= 0, got " + tightest);
    }
    FloatFormat rank =
        switch (rankBy.toLowerCase(Locale.ROOT)) {
          case "fp16" -> FloatFormat.FP16;
          case "bf16" -> FloatFormat.BF16;
          default ->
              throw new IllegalArgumentException(
                  "--rank-by must be fp16 or bf16, got '" + rankBy + "'");
        };
    checkWritable(jsonl, "--jsonl");
    checkWritable(report, "--report");
    PrecisionPolicy policy = Policies.resolve(policyName, EditCommand.home());
    Path modelPath = model != null ? model : ConvertCommand.defaultModel();
    LlamaModel m = LlamaModel.load(modelPath, policy.storage());
    Tokenizer tok = Tokenizer.besideModel(modelPath);
    int[] ids = tok.encode(prompt, true, false);
    PromptTrace.Result res = PromptTrace.run(m, ids, policy, threads, backward, tok::piece);

    o.println(
        "nanscope trace: "
            + modelPath
            + ", "
            + ids.length
            + " tokens, "
            + (backward ? "forward + backward of the next-token NLL" : "forward"));
    o.println("prompt: " + quote(prompt));
    o.print(policy.describe());
    o.println(
        "next-token NLL: "
            + (Double.isNaN(res.loss())
                ? "- (one token predicts nothing)"
                : Numbers.decimal4(res.loss())));
    o.println();
    o.print(StatsTable.render(res.rows(), rank, tightest));
    o.println();
    for (Phase ph : new Phase[] {Phase.FORWARD, Phase.BACKWARD}) {
      if (res.rows(ph).isEmpty()) {
        continue;
      }
      String name = ph.name().toLowerCase(Locale.ROOT);
      for (FloatFormat f : new FloatFormat[] {FloatFormat.FP16, FloatFormat.BF16}) {
        res.tightest(ph, f)
            .ifPresent(s ->
                o.println(
                    "tightest "
                        + name
                        + " site in "
                        + f.name()
                        + ": "
                        + where(s)
                        + ", max|x| "
                        + Numbers.decimal4(s.output().maxAbs())
                        + ", headroom "
                        + String.format(Locale.ROOT, "%.2f", s.output().headroomIn(f))
                        + " binades"));
      }
      long[] t = res.totals(ph);
      o.println(
          name
              + " totals over "
              + res.rows(ph).size()
              + " sites, "
              + String.format(Locale.ROOT, "%,d", t[3])
              + " elements: overflow "
              + t[0]
              + ", underflow "
              + t[1]
              + ", subnormal "
              + t[2]);
    }
    List<SiteStats> floor = FloorTable.nearest(res.rows(), FloatFormat.FP16, FLOOR_ROWS);
    if (!floor.isEmpty()) {
      o.println();
      o.println(
          "floor headroom (underflow): the "
              + floor.size()
              + " sites nearest FP16's bottom; log2(min|x|>0 / 2^-24, the smallest subnormal) and"
              + " log2(min|x|>0 / 2^-14, the smallest normal), in binades; flushed = non-zero before"
              + " rounding, 0 after");
      o.print(FloorTable.render(floor, FloatFormat.FP16));
    }
    if (res.first().isPresent()) {
      FirstNonFinite first = res.first().get();
      o.println();
      o.print(first.report());
      o.println("producer and propagator, with the operands of the first offending elements:");
      o.print(first.elementsReport("  "));
      res.firstNewNan().filter(e -> e != first).ifPresent(e -> o.print(e.elementsReport("  ")));
      res.chain().stream().limit(20).forEach(l -> o.println(l.describe()));
      if (res.chain().size() > 20) {
        o.println("... " + (res.chain().size() - 20) + " more links (see --jsonl)");
      }
    } else {
      o.println("no op produced a NaN or an inf");
    }
    if (jsonl != null) {
      res.writeJsonl(jsonl);
      o.println("trace written to " + jsonl);
    }
    if (report != null) {
      Report r = new Report("nanscope trace: " + policy.name());
      r.heading("Run")
          .text(
              "Model "
                  + modelPath
                  + ", prompt "
                  + quote(prompt)
                  + " ("
                  + ids.length
                  + " tokens with BOS), policy "
                  + policy.name()
                  + ", "
                  + (backward
                      ? "forward and backward pass of the "
                          + "next-token NLL (every weight a parameter)"
                      : "forward pass only")
                  + ". Next-token NLL: "
                  + Numbers.decimal4(res.loss())
                  + ".");
      r.text(
          "Headroom is log2(maxFinite / max|x|) in binades: how many doublings the largest value of a site"
              + " could take before it overflows the format. FP16's maxFinite is 65,504 (log2 ≈ 16); BF16's is"
              + " about 3.4e38 (log2 ≈ 128), so BF16 headroom is FP16 headroom + 112.");
      r.heading("Headroom");
      TraceReport.addTo(r, res, rank, tightest);
      Path trace = jsonl;
      Path tmpDir = null;
      if (trace == null) {
        tmpDir = Files.createTempDirectory("nanscope-trace");
        trace = tmpDir.resolve("trace.jsonl");
        res.writeJsonl(trace);
      }
      try {
        r.heading("Files").attach(trace, "every stats row and anomaly event, JSON Lines");
        r.write(report);
      } finally {
        if (tmpDir != null) {
          Files.deleteIfExists(trace);
          Files.deleteIfExists(tmpDir);
        }
      }
      o.println("report written to " + report);
    }
    return 0;
  }

  private static String where(SiteStats s) {
    return s.at().site().name() + " (" + s.at().op() + ")";
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }

  /** Refuses before the run when the output's directory cannot exist (a file is in the way). */
  static void checkWritable(Path file, String option) {
    if (file == null) {
      return;
    }
    if (Files.isDirectory(file)) {
      throw new IllegalArgumentException(option + " " + file + " is a directory: pass a file name");
    }
    for (Path p = file.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
      if (Files.exists(p)) {
        if (!Files.isDirectory(p)) {
          throw new IllegalArgumentException(
              option + " " + file + ": " + p + " is not a directory");
        }
        if (!Files.isWritable(p)) {
          throw new IllegalArgumentException(option + " " + file + ": cannot write in " + p);
        }
        return;
      }
    }
  }
}
