#!/usr/bin/env bash
# The README's editing results table: Edit Succ., Portability, Locality, Fluency per method, mode
# and precision on the embedded model, one `nanscope edit` run at a time
# (docs/lab/2026-12-06-editing-results.md).
#
#   scripts/editing/edit-table.sh [JOBS_FILE]     (default: the job list below, in that order: the
#   cheap FT rows and the sequential AlphaEdit/MEMIT comparison first)
#
# A job line is: NAME HPARAMS POLICY MODE, MODE = single:N (first N records, edit-evaluate-restore)
# or sequential (all records edited in order, none restored, then every record evaluated:
# `--sequential --eval-at-end`, EasyEdit's sequential_edit=True). Data: DATA (default
# configs/edits/tinystories-edits-100.json). Results go to OUT (default out/edit-table/): per job
# NAME.log (stdout), NAME.json (results, with each edit's wall time), and one row appended to
# table.tsv. A job whose NAME.json exists is skipped, so an interrupted run resumes. The CLI jar is
# copied first, so a rebuild during the run cannot change what runs. Runs under `nice -n NICE`
# (default 10).
# EXTRA: more `edit` options for every job (e.g. --no-fluency).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/jdk.sh
OUT="${OUT:-out/edit-table}"
DATA="${DATA:-configs/edits/tinystories-edits-100.json}"
mkdir -p "$OUT"
if [ ! -f "$OUT/nanscope.jar" ]; then
  ./nanscope formats >/dev/null   # builds the CLI jar when sources changed
  cp cli/target/nanscope.jar "$OUT/nanscope.jar"
fi
jvm=("$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
  -XX:+UseParallelGC -Xlog:disable -Xlog:all=warning:stderr -Xmx2g -Dnanscope.home="$PWD")

default_jobs() {
  cat <<'JOBS'
seq-ft-m-fp32 configs/ft/stories260K-ftm.yaml fp32 sequential
seq-ft-l-fp32 configs/ft/stories260K.yaml fp32 sequential
seq-alphaedit-fp32 configs/alphaedit/stories260K.yaml fp32 sequential
seq-memit-fp32 configs/memit/stories260K.yaml fp32 sequential
single-ft-l-fp32 configs/ft/stories260K.yaml fp32 single:10
single-ft-m-fp32 configs/ft/stories260K-ftm.yaml fp32 single:10
single-ft-l-fp16 configs/ft/stories260K.yaml pytorch-fp16 single:10
single-ft-m-fp16 configs/ft/stories260K-ftm.yaml pytorch-fp16 single:10
single-ft-l-bf16 configs/ft/stories260K.yaml pytorch-bf16 single:10
single-ft-m-bf16 configs/ft/stories260K-ftm.yaml pytorch-bf16 single:10
seq-rome-fp32 configs/rome/stories260K.yaml fp32 sequential
single-rome-fp32 configs/rome/stories260K.yaml fp32 single:10
single-r-rome-fp32 configs/r-rome/stories260K.yaml fp32 single:10
single-memit-fp32 configs/memit/stories260K.yaml fp32 single:10
single-alphaedit-fp32 configs/alphaedit/stories260K.yaml fp32 single:10
single-rome-fp16 configs/rome/stories260K.yaml pytorch-fp16 single:10
single-r-rome-fp16 configs/r-rome/stories260K.yaml pytorch-fp16 single:10
single-memit-fp16 configs/memit/stories260K.yaml pytorch-fp16 single:10
single-alphaedit-fp16 configs/alphaedit/stories260K.yaml pytorch-fp16 single:10
single-rome-bf16 configs/rome/stories260K.yaml pytorch-bf16 single:10
single-r-rome-bf16 configs/r-rome/stories260K.yaml pytorch-bf16 single:10
single-memit-bf16 configs/memit/stories260K.yaml pytorch-bf16 single:10
single-alphaedit-bf16 configs/alphaedit/stories260K.yaml pytorch-bf16 single:10
seq-r-rome-fp32 configs/r-rome/stories260K.yaml fp32 sequential
seq-alphaedit-fp16 configs/alphaedit/stories260K.yaml pytorch-fp16 sequential
seq-memit-fp16 configs/memit/stories260K.yaml pytorch-fp16 sequential
seq-rome-fp16 configs/rome/stories260K.yaml pytorch-fp16 sequential
seq-alphaedit-bf16 configs/alphaedit/stories260K.yaml pytorch-bf16 sequential
seq-memit-bf16 configs/memit/stories260K.yaml pytorch-bf16 sequential
seq-rome-bf16 configs/rome/stories260K.yaml pytorch-bf16 sequential
seq-r-rome-fp16 configs/r-rome/stories260K.yaml pytorch-fp16 sequential
seq-ft-m-fp16 configs/ft/stories260K-ftm.yaml pytorch-fp16 sequential
seq-ft-l-fp16 configs/ft/stories260K.yaml pytorch-fp16 sequential
seq-r-rome-bf16 configs/r-rome/stories260K.yaml pytorch-bf16 sequential
seq-ft-m-bf16 configs/ft/stories260K-ftm.yaml pytorch-bf16 sequential
seq-ft-l-bf16 configs/ft/stories260K.yaml pytorch-bf16 sequential
JOBS
}

if [ $# -ge 1 ]; then jobs_src=$(cat "$1"); else jobs_src=$(default_jobs); fi
[ -f "$OUT/table.tsv" ] || printf 'job\talg\tpolicy\tmode\trecords\tedit_succ\tportability\tlocality\tfluency\tpre_edit_succ\tpre_fluency\tsec_per_edit_median\tsec_min\tsec_max\twall_s\tz_loss_median\tz_loss_max\tdate\n' > "$OUT/table.tsv"
while read -r name hparams policy mode; do
  [ -z "$name" ] && continue
  [ -f "$OUT/$name.json" ] && { echo "skip $name (done)" >&2; continue; }
  args=(edit --hparams "$hparams" --data "$DATA" --policy "$policy" --out "$OUT/$name.json.tmp" ${EXTRA:-})
  case "$mode" in
    single:*) args+=(--ds-size "${mode#single:}") ;;
    sequential) args+=(--sequential --eval-at-end) ;;
    *) echo "unknown mode $mode in job $name" >&2; exit 2 ;;
  esac
  echo "$(date -u +%H:%M:%S) $name: ${args[*]}" >&2
  t0=$(date +%s.%N)
  if nice -n "${NICE:-10}" "${jvm[@]}" -jar "$OUT/nanscope.jar" "${args[@]}" >"$OUT/$name.log" 2>"$OUT/$name.err"; then
    t1=$(date +%s.%N)
    mv "$OUT/$name.json.tmp" "$OUT/$name.json"
    python3 - "$OUT/$name.log" "$OUT/$name.json" "$name" "$hparams" "$policy" "$mode" "$t0" "$t1" >> "$OUT/table.tsv" <<'PY'
import json, re, statistics, sys, datetime
log, js, name, hparams, policy, mode, t0, t1 = sys.argv[1:]
text = open(log).read()
alg = re.search(r"^nanscope edit: ([^,]+),", text, re.M).group(1)
rows = {}
for label in ("pre", "post"):
    m = re.search(r"^" + label + r"\s+(.*)$", text, re.M)
    rows[label] = (m.group(1).split() + ["-"] * 4)[:4]
# the last optimisation loss of each edit (ROME: before "Delta norm", MEMIT/AlphaEdit: "Init norm")
last, zl = None, []
for line in text.splitlines():
    if line.startswith("loss "):
        last = float(line.split()[1])
    elif line.startswith(("Delta norm", "Init norm")) and last is not None:
        zl.append(last)
        last = None
zs = ("%.3f" % statistics.median(zl), "%.3f" % max(zl)) if zl else ("-", "-")
res = json.load(open(js))
secs = sorted(r["time"] for r in res)
post, pre = rows["post"], rows["pre"]
print("\t".join([name, alg, policy, mode, str(len(res)), post[0], post[1], post[2], post[3],
                 pre[0], pre[3], "%.2f" % statistics.median(secs), "%.2f" % secs[0], "%.2f" % secs[-1],
                 "%.0f" % (float(t1) - float(t0)), zs[0], zs[1],
                 datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")]))
PY
    tail -1 "$OUT/table.tsv" >&2
  else
    echo "$name FAILED (exit $?): see $OUT/$name.err" >&2
  fi
done <<< "$jobs_src"
