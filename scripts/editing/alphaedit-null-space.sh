#!/usr/bin/env bash
# AlphaEdit's null space against the estimate of C (NullSpaceCheck.java;
# docs/lab/2026-12-07-alphaedit-null-space.md).
#   scripts/editing/alphaedit-null-space.sh sample OUT N SEED
#   scripts/editing/alphaedit-null-space.sh proxy HPARAMS DATA THRESHOLDS C_CORPORA HELD_OUT
#   scripts/editing/alphaedit-null-space.sh all      (the lab page's corpora, proxy and edit runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/jdk.sh
check() {
  "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -Xmx1g -cp cli/target/nanscope.jar \
    scripts/editing/NullSpaceCheck.java "$@" 2> >(grep -v '^WARNING: Using incubator modules' >&2)
}
./nanscope formats >/dev/null   # builds the CLI jar when sources changed
[ "$1" != all ] && { check "$@"; exit; }

# all: corpora, the proxy, then 100 sequential AlphaEdit edits per (z settings, C corpus, threshold)
# through edit-table.sh (one run at a time, nice -n 19). Everything goes to OUT.
OUT="${OUT:-out/alphaedit-null-space}"
C="$OUT/corpus"
mkdir -p "$C" "$OUT/cfg"
[ -f "$C/templated-3300.txt" ] || python3 scripts/editing/make_tinystories_corpus.py 3300 "$C/templated-3300.txt"
[ -f "$C/sampled-s1.txt" ] || check sample "$C/sampled-s1.txt" 1300 1
# the locality probes' own text (prompt + " " + answer), for the "C that contains them" corpus
python3 - "$C/probes.txt" <<'PY'
import json, sys
d = json.load(open("configs/edits/tinystories-edits-100.json"))
t = [p["prompt"] + " " + p["ground_truth"] for r in d for v in r["locality"].values() for p in v]
open(sys.argv[1], "w").write("\n\n".join(t) + "\n")
PY
T=configs/corpus/tinystories-corpus.txt
[ -f "$OUT/proxy.txt" ] || check proxy configs/alphaedit/stories260K.yaml \
  configs/edits/tinystories-edits-100.json 1e-3,3e-3,1e-2,2e-2,5e-2,1e-1,3e-1 \
  "T300=$T:300,T3000=$C/templated-3300.txt:3000,S300=$C/sampled-s1.txt:300,S1000=$C/sampled-s1.txt:1000,T300+S1000=$T:300+$C/sampled-s1.txt:1000,T300+probes=$T:300+$C/probes.txt:200" \
  "templated=$C/templated-3300.txt:3000:3300,sampled=$C/sampled-s1.txt:1000:1300" > "$OUT/proxy.txt"
# derived hyperparameter files: NAME BASE DATASET N_SAMPLES THRESHOLD (everything else unchanged)
variant() {
  sed -e "s|^mom2_dataset: .*|mom2_dataset: \"$3\"|" -e "s|^mom2_n_samples: .*|mom2_n_samples: $4|" \
    -e "s|^nullspace_threshold: .*|nullspace_threshold: $5|" "$2" > "$OUT/cfg/$1.yaml"
}
A=configs/alphaedit/stories260K.yaml
M=configs/alphaedit/stories260K-memit-z.yaml
cat "$T" > "$C/templated-300-probes.txt"; printf '\n' >> "$C/templated-300-probes.txt"
cat "$C/probes.txt" >> "$C/templated-300-probes.txt"
variant memitz-s1000-2e-2 $M "$C/sampled-s1.txt" 1000 2e-2
variant memitz-probes-2e-2 $M "$C/templated-300-probes.txt" 500 2e-2
variant memitz-t300-1e-2 $M $T 300 1e-2
variant memitz-t300-5e-2 $M $T 300 5e-2
variant alphaz-s1000-2e-2 $A "$C/sampled-s1.txt" 1000 2e-2
variant memitz-t300-2e-2 $M $T 300 2e-2
variant memitz-t300-3e-3 $M $T 300 3e-3
variant alphaz-t300-2e-2 $A $T 300 2e-2
variant alphaz-probes-2e-2 $A "$C/templated-300-probes.txt" 500 2e-2
variant alphaz-t300-1e-2 $A $T 300 1e-2
variant alphaz-t300-5e-2 $A $T 300 5e-2
jobs="$OUT/jobs.txt"
: > "$jobs"
# memitz-t300-2e-2 and alphaz-t300-2e-2 are the shipped files (baselines measured in the same run);
# memitz-t300-3e-3 is a control: no eigenvalue is below 3e-3, so P = 0 and nothing may change.
for v in ${VARIANTS:-memitz-s1000-2e-2 memitz-probes-2e-2 memitz-t300-1e-2 memitz-t300-5e-2 \
    alphaz-s1000-2e-2 memitz-t300-2e-2 alphaz-t300-2e-2 alphaz-probes-2e-2 alphaz-t300-1e-2 \
    memitz-t300-3e-3 alphaz-t300-5e-2}; do
  echo "seq-$v $OUT/cfg/$v.yaml fp32 sequential" >> "$jobs"
done
OUT="$OUT/table" NICE=19 scripts/editing/edit-table.sh "$jobs"
