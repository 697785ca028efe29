#!/usr/bin/env bash
# Decode speed of a big model (e.g. the 7B-shaped synthetic one) against its memory-bandwidth bound,
# measured in the same run: for each of REPS rounds, numpy's copy bandwidth (np.copyto of 512 MiB,
# bytes copied per second, median of 5), then `nanscope generate --steps STEPS` on 1 and 2 threads
# (achieved tok/s: positions after the first, like run.c). Bound = copy bandwidth / bytes of weights
# read per token (every linear weight and the classifier; one embedding row is negligible).
# Also prints how much of the model's files is in the page cache (fincore) before and after.
# Usage: scripts/bench-decode-7b.sh MODEL_DIR [STEPS=16] [REPS=3]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:?usage: bench-decode-7b.sh MODEL_DIR [STEPS] [REPS]}"
steps="${2:-16}"
reps="${3:-3}"
[ -f "$model/config.json" ] || { echo "bench-decode-7b: $model/config.json not found: pass a HF model directory" >&2; exit 2; }
residency() { command -v fincore >/dev/null && fincore -b "$model"/*.safetensors | awk 'NR>1 {r+=$1; s+=$3} END {printf "page cache: %.2f of %.2f GB resident\n", r/1e9, s/1e9}' || true; }
residency
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for ((i = 0; i < reps; i++)); do
  python3 -c '
import numpy as np, time, statistics
n = 512 << 20
a = np.ones(n, dtype=np.uint8); b = np.empty_like(a); np.copyto(b, a)
xs = []
for _ in range(5):
    t = time.perf_counter(); np.copyto(b, a); xs.append(n / (time.perf_counter() - t) / 1e9)
print(statistics.median(xs))' >> "$work/copy"
  for t in 1 2; do
    "$here/nanscope" generate --model "$model" --prompt "Once upon a time" --steps "$steps" --threads "$t" 2>&1 >/dev/null \
      | sed -n 's/^achieved tok\/s: \([0-9.]*\).*/\1/p' >> "$work/t$t"
  done
  echo "round $((i + 1))/$reps: copy $(tail -1 "$work/copy") GB/s, 1 thread $(tail -1 "$work/t1") tok/s, 2 threads $(tail -1 "$work/t2") tok/s, $(uptime | sed 's/.*load/load/')" >&2
done
residency
python3 - "$model/config.json" "$work" <<'PY'
import json, statistics, sys
cfg, work = json.load(open(sys.argv[1])), sys.argv[2]
C, F, L, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
H = cfg["num_attention_heads"]; Hkv = cfg.get("num_key_value_heads", H); kv = C // H * Hkv
nbytes = {"float32": 4, "float16": 2, "bfloat16": 2}[cfg.get("torch_dtype", "float32")]
per_token = nbytes * (L * (2 * C * C + 2 * kv * C + 3 * F * C) + V * C)
read = lambda f: [float(x) for x in open(f"{work}/{f}").read().split()]
copy = read("copy"); bw = statistics.median(copy)
bound = bw * 1e9 / per_token
print(f"weights read per token: {per_token / 1e9:.2f} GB; copy bandwidth median {bw:.1f} GB/s "
      f"(range {min(copy):.1f}-{max(copy):.1f}); bound {bound:.2f} tok/s")
for t in (1, 2):
    xs = read(f"t{t}"); m = statistics.median(xs)
    print(f"{t} thread(s): {m:.2f} tok/s median (range {min(xs):.2f}-{max(xs):.2f}), {m / bound:.2f}x the bound")
PY
