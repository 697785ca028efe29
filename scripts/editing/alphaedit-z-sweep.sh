#!/usr/bin/env bash
# Is AlphaEdit's weak edit here (docs/lab/2026-12-06-memit-alphaedit.md: 35.56 vs MEMIT's 77.78 Edit
# Succ., single edits) caused by its z settings, EasyEdit's Llama-3 values (clamp_norm_factor 0.75,
# v_lr 0.1, v_weight_decay 0.5) instead of MEMIT's (4, 0.5, 1e-3)? Sweeps those three, every other
# key of configs/alphaedit/stories260K.yaml unchanged, single edits on the 15 shipped records, no
# fluency, through scripts/editing/edit-table.sh (one run at a time, nice 10). Results:
# out/alphaedit-z-sweep/table.tsv (z_loss_* = the final z-optimisation loss of each edit).
#   scripts/editing/alphaedit-z-sweep.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=out/alphaedit-z-sweep
mkdir -p "$out"
base=configs/alphaedit/stories260K.yaml
jobs="$out/jobs"
: > "$jobs"
# clamp x (v_lr, v_weight_decay): AlphaEdit's pair (Llama-3) and MEMIT's pair (Llama-2)
for clamp in 0.75 2 4; do
  for pair in "1e-1 0.5" "5e-1 1e-3"; do
    read -r lr wd <<< "$pair"
    name="clamp${clamp}-lr${lr}-wd${wd}"
    sed -e "s/^clamp_norm_factor: .*/clamp_norm_factor: $clamp/" -e "s/^v_lr: .*/v_lr: $lr/" \
      -e "s/^v_weight_decay: .*/v_weight_decay: $wd/" "$base" > "$out/$name.yaml"
    echo "$name $out/$name.yaml fp32 single:15" >> "$jobs"
  done
done
# one value at a time from AlphaEdit's setting towards MEMIT's, at MEMIT's clamp
for pair in "5e-1 0.5" "1e-1 1e-3"; do
  read -r lr wd <<< "$pair"
  name="clamp4-lr${lr}-wd${wd}"
  sed -e "s/^clamp_norm_factor: .*/clamp_norm_factor: 4/" -e "s/^v_lr: .*/v_lr: $lr/" \
    -e "s/^v_weight_decay: .*/v_weight_decay: $wd/" "$base" > "$out/$name.yaml"
  echo "$name $out/$name.yaml fp32 single:15" >> "$jobs"
done
OUT="$out" DATA=configs/edits/tinystories-edits.json EXTRA=--no-fluency \
  exec scripts/editing/edit-table.sh "$jobs"
