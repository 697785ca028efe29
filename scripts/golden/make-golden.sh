#!/usr/bin/env bash
# Rebuilds refrun and regenerates llama/src/test/resources/golden/*.txt from manifest.tsv, after checking
# refrun against llama2.c's own output in ../shared/golden.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/llama/src/test/resources/golden"
m="$root/models/stories260K"
bin="$(mktemp -d)/refrun"
cc -O2 -o "$bin" "$root/scripts/golden/refrun.c" -lm
"$bin" "$m/stories260K.bin" "$m/tok512.bin" 64 "Once upon a time" \
  | cmp - "$root/../shared/golden/stories260K.once_upon_a_time.t0.n64.txt"
grep -v '^#' "$out/manifest.tsv" | while IFS=$'\t' read -r file steps prompt; do
  "$bin" "$m/stories260K.bin" "$m/tok512.bin" "$steps" "$prompt" > "$out/$file.tmp" && mv "$out/$file.tmp" "$out/$file"
done
echo "golden files regenerated in $out"
