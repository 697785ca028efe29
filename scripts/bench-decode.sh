#!/usr/bin/env bash
# Decode speed on stories260K: DecodeBench (JMH, 1 and 2 threads) and, in the same run, the
# llama2.c-equivalent C reference (scripts/golden/refrun.c, cc -O3 -march=native, one thread) timed
# over the same positions of the same prompt. Prints median and range of tokens/s for each and the
# ratio of medians. Then the same on CPU time (the shared machine's load inflates wall time): the
# decoding thread's CPU time (DecodeCpuTime, 1 thread) against the C reference's user+sys time.
# Then what a user waits for (scripts/bench_process.py, docs/guide/startup.md): whole-process wall
# and CPU time and time to first byte of `./nanscope generate` (the same 256 positions) against the
# C reference's whole process, and of --version, formats, round, trace and one edit record.
# Takes about 10 minutes on the loaded 2-core machine. Extra arguments go to JMH (-p threads=1).
# --process-only: only the whole-process part (about 7 minutes). BENCH_RUNS: runs per whole-process
# row (default 10). LLAMA2C_RUN=path: also time llama2.c's own run (built outside the repository).
# BASELINE=dir: also time generate and --version of another checkout (e.g. main, unpacked by
# `git archive main | tar -x -C dir` and built once with its ./nanscope).
# BENCH_JAVA_OPTS=-Djmh.ignoreLock=true runs even while another JMH holds /tmp/jmh.lock (noisier).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/jdk.sh"
cd "$here"
positions=256
prompt="Once upon a time"
work="$(mktemp -d)"
cc -O3 -march=native -o "$work/refrun" scripts/golden/refrun.c -lm
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
process() {
  ./nanscope --version >/dev/null # builds the CLI jar and its AOT cache when needed
  python3 scripts/bench_process.py "$here" "$work/refrun" "${BENCH_RUNS:-10}" \
    "${LLAMA2C_RUN:-}" "${BASELINE:-}"
}
if [ "${1:-}" = --process-only ]; then
  process
  exit 0
fi
./mvnw -B -DskipTests -pl bench -am package >&2 || { echo "bench-decode: build failed (see above)" >&2; exit 1; }
"$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector ${BENCH_JAVA_OPTS:-} -jar bench/target/benchmarks.jar \
  'io.nanscope.bench.DecodeBench' -p model="$here/models/stories260K" -p positions=$positions \
  -rf json -rff "$work/decode.json" "$@" >&2
"$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar io.nanscope.bench.DecodeCpuTime \
  "$here/models/stories260K" $positions "$prompt" 20 20 > "$work/cpu.txt" 2>/dev/null
python3 - "$work/decode.json" "$work/refrun" "$here/models/stories260K" "$positions" "$prompt" "$work/cpu.txt" <<'PY'
import json, os, resource, statistics, subprocess, sys, time
res, refrun, model, positions, prompt = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def stats(xs):
    return statistics.median(xs), min(xs), max(xs)
rows = []
for r in json.load(open(res)):
    scores = [s for fork in r["primaryMetric"]["rawData"] for s in fork]  # runs/s per iteration
    tok = [s * int(r["params"]["positions"]) for s in scores]
    rows.append((f"nanscope Fp32Decoder, {r['params']['threads']} thread(s)", stats(tok)))
# C reference: wall time of the whole process (startup + 1 MB model load included), 20 runs
cmd = [refrun, f"{model}/stories260K.bin", f"{model}/tok512.bin", str(positions), prompt]
subprocess.run(cmd, check=True, capture_output=True)
c, ccpu = [], []
def child_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN); return u.ru_utime + u.ru_stime
for _ in range(20):
    t0, u0 = time.perf_counter(), child_cpu()
    subprocess.run(cmd, check=True, capture_output=True)
    c.append(positions / (time.perf_counter() - t0)); ccpu.append(positions / (child_cpu() - u0))
cref = stats(c)
rows.append(("llama2.c-equivalent C reference (scripts/golden/refrun.c), 1 thread", cref))
print(f"stories260K, prompt '{prompt}', {positions} positions, greedy FP32; load: {os.getloadavg()[0]:.1f}")
print(f"{'wall time':<72} {'tok/s median':>12} {'range':>17} {'x C':>6}")
for name, (med, lo, hi) in rows:
    print(f"{name:<72} {med:>12.0f} {lo:>8.0f}-{hi:<8.0f} {med / cref[0]:>6.2f}")
jcpu = stats([float(x) for x in open(sys.argv[6]).read().split()])
ccpu = stats(ccpu)
print(f"{'CPU time (decoding thread; C: user+sys of the process)':<72}")
for name, (med, lo, hi) in (("nanscope Fp32Decoder (DecodeCpuTime), 1 thread", jcpu), ("C reference, 1 thread", ccpu)):
    print(f"{name:<72} {med:>12.0f} {lo:>8.0f}-{hi:<8.0f} {med / ccpu[0]:>6.2f}")
PY
process
