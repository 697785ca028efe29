#!/usr/bin/env bash
# Builds bench/target/benchmarks.jar and runs RoundingBench (FP32 -> FP16/BF16 bulk rounding, the
# JDK Float.floatToFloat16 loop and a memory copy, in the same run), then prints per benchmark the
# median and range of the measured iterations as elements/s and GB/s, and the ratio to the copy.
# Takes about 2-3 minutes. Extra arguments go to JMH (e.g. -p n=4096, -f 3, -wi 5).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/jdk.sh"
cd "$here"
./mvnw -B -DskipTests -pl bench -am package >&2 || { echo "bench-rounding: build failed (see above)" >&2; exit 1; }
out="$(mktemp -d)/rounding.json"
"$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar \
  'io.nanscope.bench.RoundingBench' -rf json -rff "$out" "$@" >&2
python3 - "$out" <<'PY'
import json, statistics, sys
# bytes moved per element (read + written)
traffic = {"copy": 8, "fp16Encode": 6, "bf16Encode": 6, "fp16EncodeJdkLoop": 6,
           "fp16RoundInPlace": 8, "bf16RoundInPlace": 8, "fp16RoundInPlaceJdkLoop": 8}
rows = {}
for r in json.load(open(sys.argv[1])):
    name = r["benchmark"].rsplit(".", 1)[1]
    n = int(r["params"]["n"])
    scores = [s for fork in r["primaryMetric"]["rawData"] for s in fork]  # ops/s per iteration
    el = [s * n for s in scores]
    rows[(n, name)] = (statistics.median(el), min(el), max(el))
print(f"{'n':>9}  {'benchmark':<24} {'Gelem/s median':>14} {'range':>15} {'GB/s median':>11} {'range':>13} {'x copy GB/s':>11}")
for (n, name), (med, lo, hi) in sorted(rows.items()):
    b = traffic.get(name, 0)
    copy = rows.get((n, "copy"))
    ratio = (med * b) / (copy[0] * 8) if copy else float("nan")
    print(f"{n:>9}  {name:<24} {med/1e9:>14.2f} {lo/1e9:>7.2f}-{hi/1e9:<7.2f} {med*b/1e9:>11.1f} {lo*b/1e9:>6.1f}-{hi*b/1e9:<6.1f} {ratio:>11.2f}")
print("GB/s = elements/s x bytes read+written per element (encode 6, round-in-place and copy 8).")
PY
