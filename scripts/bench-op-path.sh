#!/usr/bin/env bash
# The op-path issue's ratios, measured in one run (medians and ranges):
#   1. ./nanscope repro: wall time of the whole process, cold (a fresh JVM), per scenario from the
#      command's own stderr lines, plus the process's user+sys CPU time and peak RSS;
#   2. emulated forward on stories260K, 256 tokens, sequence mode: pytorch-fp16 and pytorch-bf16
#      time / fp32 time, and fp32 op path / Fp32Decoder tokens per second (CPU time of the one
#      working thread, io.nanscope.bench.OpPathCpuTime forward; plus the JMH OpPathForwardBench
#      in wall time when the bench jar has it);
#   3. one ROME v* step (forward + backward to δ) at Llama-2-7B layer shapes: a 7B-shaped synthetic
#      model with 8 layers (nanscope synth --layers 8, written once to $SYNTH), δ at layer 5 (two
#      layers above it, so that δ's gradient goes through attention as in ROME: with δ in the last
#      layer it would be zero), 21 prompts of 18–22 tokens + the KL prompt; FLOPs counted (OpPathCpuTime's javadoc), GFLOP/s
#      per CPU second as a share of our own FP32-accumulated GEMM (Kernels.matmulNT, BF16 weights,
#      440×11008×4096) measured in the same run, both on 1 thread;
#   4. ./nanscope edit (15 records): seconds per edit, FP32 and pytorch-fp16, whole process;
#   5. the stats tracer's cost: stats / tracer-off CPU time of the same forward (fp32, pytorch-fp16,
#      pytorch-bf16), both modes interleaved in one JVM per side.
#
#   scripts/bench-op-path.sh [all|quick]     quick (default) skips the repro; all runs it (12–20 min)
#
# Environment: SYNTH=DIR (default target/bench-op-path/llama2-7b-8l), ROUNDS (default 5), WHOLE=1,
# JMH=1 (also run OpPathForwardBench, wall time, if the jar has it),
# BEFORE=DIR with nanscope.jar and benchmarks.jar of another commit: every measurement also runs
# with those jars (the "before" column), interleaved with ours.
# The machine is shared: CPU times are the figures to compare; wall times include other jobs.
# Results: target/bench-op-path/{*.jsonl,*.log,table.txt}.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh
mode="${1:-quick}"
case "$mode" in all|quick) ;; *) echo "usage: scripts/bench-op-path.sh [all|quick]" >&2; exit 2 ;; esac
out=target/bench-op-path
synth="${SYNTH:-$out/llama2-7b-8l}"
rounds="${ROUNDS:-5}"
mkdir -p "$out"
./mvnw -B -pl cli,bench -am package -DskipTests >"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log" >&2; exit 1; }
mkdir -p "$out/after"
cp cli/target/nanscope.jar bench/target/benchmarks.jar "$out/after/"
sides=(after)
if [ -n "${BEFORE:-}" ]; then
  [ -f "$BEFORE/nanscope.jar" ] && [ -f "$BEFORE/benchmarks.jar" ] \
    || { echo "BEFORE=$BEFORE must hold nanscope.jar and benchmarks.jar" >&2; exit 2; }
  sides=(before after)
fi
jar_of() { if [ "$1" = before ]; then echo "$BEFORE/$2"; else echo "$out/after/$2"; fi; }
java=("$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED)
# OpPathCpuTime is only in our jar; with BEFORE its classes come first, so the engine and model
# code measured is the other commit's (the class links the methods it calls lazily).
cpu_time() { local side=$1; shift
  local cp="$out/after/benchmarks.jar"
  [ "$side" = before ] && cp="$BEFORE/benchmarks.jar:$cp"
  # No scalar warm-up in the decoder: its budget (2^28 multiply-adds, shared per process) would
  # put the first ~1,000 positions, i.e. several measured rounds, on the scalar twins.
  "${java[@]}" -Xmx10g -Dnanscope.decode.scalarWarmUpMacs=0 -cp "$cp" \
    io.nanscope.bench.OpPathCpuTime "$@" 2>>"$out/cpu.log" | sed "s/^{/{\"side\":\"$side\",/"; }
nanscope_cmd() { echo "${java[@]}" -XX:+UseParallelGC -Dnanscope.home="$PWD" -jar "$(jar_of "$1" nanscope.jar)"; }
timed() { local label=$1 side=$2; shift 2   # whole process: wall, user, sys, max RSS
  /usr/bin/time -f "{\"side\":\"$side\",\"what\":\"$label\",\"wall_s\":%e,\"user_s\":%U,\"sys_s\":%S,\"rss_kb\":%M}" \
    -a -o "$out/process.jsonl" "$@"; }

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "load before: $(uptime)"
rm -f "$out"/*.jsonl "$out/cpu.log"

if [ "$mode" = all ]; then
  for side in "${sides[@]}"; do
    timed repro "$side" $(nanscope_cmd "$side") repro >"$out/repro-$side.log" 2>"$out/repro-$side.err"
    sed -n 's/^\[\([a-z-]*\)\] \([0-9.]*\) s$/{"side":"'"$side"'","what":"repro scenario","variant":"\1","wall_s":\2}/p' \
      "$out/repro-$side.err" >>"$out/repro.jsonl"
  done
fi

for side in "${sides[@]}"; do
  cpu_time "$side" forward models/stories260K 256 3 "$rounds" >>"$out/forward.jsonl"
done

# The stats tracer's cost: the same forward with a StatsTracer against tracer off, interleaved in
# one JVM per side (OpPathForwardCpuTime, thread CPU ms per forward; its first round dropped).
for side in "${sides[@]}"; do
  cp="$out/after/benchmarks.jar"
  [ "$side" = before ] && cp="$BEFORE/benchmarks.jar:$cp"
  "${java[@]}" -Xmx4g -cp "$cp" io.nanscope.bench.OpPathForwardCpuTime models/stories260K 256 3 3 3 \
    fp32,pytorch-fp16,pytorch-bf16 2>>"$out/cpu.log" \
    | sed "s/^{/{\"side\":\"$side\",\"what\":\"tracer\",/" >>"$out/tracer.jsonl"
done

# The JMH view of the same forward (wall time), when the bench jar has helper elementwise's class.
if [ "${JMH:-0}" = 1 ] && "$JAVA_HOME/bin/java" -jar "$out/after/benchmarks.jar" -l 2>/dev/null \
    | grep -q OpPathForwardBench; then
  "$JAVA_HOME/bin/java" -jar "$out/after/benchmarks.jar" OpPathForwardBench -p tracer=off -wi 2 -i 3 \
    -jvmArgsAppend "-Dnanscope.home=$PWD" -rf json -rff "$out/jmh-forward.json" >"$out/jmh-forward.log" 2>&1
  grep -E '^OpPathForwardBench|^Benchmark' "$out/jmh-forward.log" || true
fi

if [ ! -f "$synth/config.json" ]; then
  $(nanscope_cmd after) synth --shape llama2-7b --dtype bf16 --layers 8 --out "$synth" >"$out/synth.log" 2>&1
fi
for side in "${sides[@]}"; do
  cpu_time "$side" gemm 440 11008 4096 bf16 1 3 >>"$out/step.jsonl"
  # The step as EasyEdit runs it (the whole forward per step) is what a commit without the frozen
  # prefix does; ours runs from the prefix. WHOLE=1 also times ours the EasyEdit way.
  if [ "$side" = before ] || [ "${WHOLE:-0}" = 1 ]; then
    cpu_time "$side" step "$synth" 5 0 2 whole >>"$out/step.jsonl"
  fi
  if [ "$side" = after ]; then
    cpu_time "$side" step "$synth" 5 1 2 frozen >>"$out/step.jsonl"
  fi
done

for side in "${sides[@]}"; do
  for policy in fp32 pytorch-fp16; do
    timed "edit $policy" "$side" $(nanscope_cmd "$side") edit --policy "$policy" \
      >"$out/edit-$policy-$side.log" 2>"$out/edit-$policy-$side.err"
  done
done
echo "load after: $(uptime)"

python3 - "$out" <<'PY' | tee "$out/table.txt"
import glob, json, statistics, sys
out = sys.argv[1]
rows = []
for f in sorted(glob.glob(f"{out}/*.jsonl")):
    rows += [json.loads(l) for l in open(f) if l.startswith("{")]
def vals(side, what, variant=None, key=None):
    return [r[key] for r in rows if r.get("side") == side and r["what"] == what
            and (variant is None or r.get("variant") == variant) and key in r]
def fmt(v):
    if not v: return "-"
    return f"{statistics.median(v):.4g} ({min(v):.4g}–{max(v):.4g})"
def med(v): return statistics.median(v) if v else float("nan")
sides = sorted({r["side"] for r in rows}, key=lambda s: s != "before")
for side in sides:
    print(f"== {side}")
    for r in [r for r in rows if r.get("side") == side and r["what"] == "repro"]:
        print(f"repro whole process: wall {r['wall_s']} s, user+sys {r['user_s'] + r['sys_s']:.1f} s, peak RSS {r['rss_kb'] / 1e6:.2f} GB")
    for r in [r for r in rows if r.get("side") == side and r["what"] == "repro scenario"]:
        print(f"  repro {r['variant']}: {r['wall_s']} s (wall)")
    tok = {v: vals(side, "forward", v, "tokens_per_cpu_s") for v in
           ["op-path fp32", "op-path pytorch-fp16", "op-path pytorch-bf16", "fp32-decoder"]}
    for v, x in tok.items():
        print(f"forward {v:22s} tokens/CPU s {fmt(x)}")
    f32 = med(tok["op-path fp32"])
    if tok["op-path fp32"]:
        print(f"  fp16 / fp32 time {f32 / med(tok['op-path pytorch-fp16']):.2f}x   bf16 / fp32 time "
              f"{f32 / med(tok['op-path pytorch-bf16']):.2f}x   (target <= 1.3)")
        print(f"  fp32 op path / Fp32Decoder tokens/s {f32 / med(tok['fp32-decoder']):.3f}   (target >= 0.25)")
    tr = {r["case"]: r["ms"][len(r["ms"]) // 3:] for r in rows
          if r.get("side") == side and r["what"] == "tracer"}
    if tr:
        parts = []
        for pol in ["fp32", "pytorch-fp16", "pytorch-bf16"]:
            off, st = tr.get(pol + " off"), tr.get(pol + " stats")
            if off and st:
                parts.append(f"{pol} {med(st) / med(off):.3f} ({med(off):.1f} / {med(st):.1f} ms)")
        print("  tracer stats / off: " + ",  ".join(parts) + "   (target <= 1.10)")
    g = vals(side, "gemm", None, "gflops_per_cpu_s")
    print(f"GEMM 440x11008x4096 bf16, 1 thread: GFLOP/CPU s {fmt(g)}")
    for variant in ["whole", "frozen"]:
        st = [r for r in rows if r.get("side") == side and r["what"] == "step" and r["variant"] == variant]
        if st:
            gf = [r["gflops_per_cpu_s"] for r in st]
            print(f"ROME step ({variant}, {st[0]['gflop']:.1f} GFLOP): CPU s {fmt([r['cpu_s'] for r in st])}, "
                  f"GFLOP/CPU s {fmt(gf)} = {med(gf) / med(g):.0%} of GEMM   (target >= 40%)")
    pre = vals(side, "step-prefix", None, "cpu_s")
    if pre:
        print(f"  frozen prefix, once per record: CPU s {fmt(pre)}")
    for r in [r for r in rows if r.get("side") == side and r["what"].startswith("edit")]:
        print(f"{r['what']}: {r['wall_s'] / 15:.2f} s/edit wall, {(r['user_s'] + r['sys_s']) / 15:.2f} s/edit user+sys"
              f" (15 records, whole process)")
PY
