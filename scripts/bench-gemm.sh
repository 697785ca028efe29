#!/usr/bin/env bash
# Builds the JMH jar, runs a chosen subset of the kernel benchmarks and numpy/OpenBLAS baselines in
# the same run, and prints ours/theirs ratios (medians and ranges).
#
#   scripts/bench-gemm.sh [quick|full|smoke]     (default quick, ~10 min on 2 idle cores)
#   scripts/bench-gemm.sh cputime                (CPU time, 1 and 2 threads, ~8 min: the load-robust
#                                                 comparison; io.nanscope.bench.CpuTimeBench)
#
# The machine is shared: numbers are noisy; compare medians, read the ranges.
# Results: target/bench-gemm/{jmh.json,numpy.jsonl,table.txt}.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh

subset="${1:-quick}"
out=target/bench-gemm
mkdir -p "$out"

case "$subset" in
  smoke)
    gemm_shapes="512x512x512"; gemm_weights="fp32"; matvec_weights="bf16"; copy_bytes="90177536"
    jmh_time=(-wi 1 -w 1 -i 3 -r 1); np_seconds=1 ;;
  quick)
    gemm_shapes="1024x1024x1024,2048x2048x2048,512x11008x4096"; gemm_weights="fp32,bf16"
    matvec_weights="bf16,fp16,fp32"; copy_bytes="90177536,180355072"
    jmh_time=(-wi 3 -w 2 -i 5 -r 2); np_seconds=5 ;;
  full)
    gemm_shapes="512x512x512,1024x1024x1024,2048x2048x2048,4096x4096x4096,64x11008x4096,128x11008x4096,256x11008x4096,512x11008x4096,512x4096x11008"
    gemm_weights="fp32,bf16,fp16"; matvec_weights="bf16,fp16,fp32"; copy_bytes="90177536,180355072"
    jmh_time=(-wi 3 -w 2 -i 5 -r 2); np_seconds=5 ;;
  cputime)
    # Overridable for a shorter run on a loaded machine, e.g. GEMM_SHAPES=2048x2048x2048 WEIGHTS=fp32
    # THREADS=1 MATVEC_SHAPES= COPY_BYTES= REPS=5; JAVA_OPTS=-Dnanscope.simd.width=256 forces a width.
    gemm_shapes="${GEMM_SHAPES-1024x1024x1024,2048x2048x2048,4096x4096x4096,64x11008x4096,512x11008x4096,512x4096x11008}"
    matvec_shapes="${MATVEC_SHAPES-4096x11008}"; copy_bytes="${COPY_BYTES-90177536,180355072}"
    cpu_weights="${WEIGHTS-fp32,bf16,fp16}"; cpu_threads="${THREADS-1,2}"; reps="${REPS-8}" ;;
  *) echo "usage: scripts/bench-gemm.sh [quick|full|smoke|cputime]" >&2; exit 2 ;;
esac

# The CPU measured (model, family/model numbers, vector flags): ratios depend on it.
cpu_info() {
  lscpu | sed -n 's/^\(Model name\|Vendor ID\|CPU family\|Model\|Hypervisor vendor\|CPU(s)\|L2 cache\):\s*/\1: /p' | tr '\n' ';'
  echo " AVX-512: $(grep -o -w 'avx512f\|avx512_bf16\|avx512_fp16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
}
echo "CPU: $(cpu_info)"

./mvnw -B -pl bench -am package -DskipTests >"$out/build.log" 2>&1 || { tail -n 30 "$out/build.log" >&2; exit 1; }

if [ "$subset" = cputime ]; then
  echo "load before: $(uptime)"
  # JAVA_OPTS may force the GEMM width (-Dnanscope.simd.width=256|512) for a comparison.
  "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector -Xmx6g ${JAVA_OPTS:-} -cp bench/target/benchmarks.jar \
    io.nanscope.bench.CpuTimeBench --copy ${copy_bytes//,/ } --weights "$cpu_weights" \
    --threads "$cpu_threads" --gemm ${gemm_shapes//,/ } --matvec ${matvec_shapes//,/ } --reps "$reps" \
    >"$out/cpu-ours.jsonl" 2>"$out/cpu-ours.log" || { tail -n 30 "$out/cpu-ours.log" >&2; exit 1; }
  # numpy's OpenBLAS picks its own kernel (coretype variables unset for this command only) and is
  # held to the thread count through ctypes (scripts/bench_numpy.py: no threadpoolctl needed).
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/bench_numpy.py --cpu --reps "$reps" \
    --threads ${cpu_threads//,/ } --gemm ${gemm_shapes//,/ } --copy ${copy_bytes//,/ } \
    >"$out/cpu-numpy.jsonl"
  echo "load after: $(uptime)"
  python3 scripts/bench_numpy.py compare-cpu "$out/cpu-ours.jsonl" "$out/cpu-numpy.jsonl" | tee "$out/table-cpu.txt"
  exit 0
fi

echo "OPENBLAS variables in this environment (unset for the numpy runs only): $(env | grep '^OPENBLAS' | tr '\n' ' ')"
numpy() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/bench_numpy.py --threads 1 2 --seconds "$np_seconds" "$@"; }
jmh() { "$JAVA_HOME/bin/java" -jar bench/target/benchmarks.jar "$@" "${jmh_time[@]}" >>"$out/jmh.log" 2>&1 || { tail -n 30 "$out/jmh.log" >&2; exit 1; }; }
rm -f "$out"/jmh-*.json "$out/jmh.log" "$out/numpy.jsonl"
echo "load before: $(uptime)"
# Interleaved, so that ours and numpy see about the same load: each GEMM shape (one JMH fork per
# case, see the classes' annotations), then numpy at that shape; then the matvec, the JVM copy and
# numpy's copy of the same bytes.
n=0
for shape in ${gemm_shapes//,/ }; do
  n=$((n + 1))
  jmh 'io.nanscope.bench.GemmBench' -p shape="$shape" -p weights="$gemm_weights" -p threads=1,2 \
    -rf json -rff "$out/jmh-gemm-$n.json"
  numpy --gemm "$shape" --copy >>"$out/numpy.jsonl"
done
# MatVec takes its own shapes and weights; Copy its byte sizes.
jmh 'io.nanscope.bench.MatVecBench' -p shape=4096x11008 -p weights="$matvec_weights" -p threads=1,2 \
  -rf json -rff "$out/jmh-matvec.json"
jmh 'io.nanscope.bench.CopyBench' -p bytes="$copy_bytes" -rf json -rff "$out/jmh-copy.json"
# numpy copies with one thread; give it the same byte sizes as CopyBench and the matvec weights.
numpy --gemm --copy ${copy_bytes//,/ } >>"$out/numpy.jsonl"
echo "load after: $(uptime)"
python3 - "$out" <<'PY'
import glob, json, sys
out = sys.argv[1]
rows = []
for f in sorted(glob.glob(f"{out}/jmh-*.json")):
    rows += json.load(open(f))
json.dump(rows, open(f"{out}/jmh.json", "w"))
PY

python3 scripts/bench_numpy.py compare "$out/jmh.json" "$out/numpy.jsonl" | tee "$out/table.txt"
