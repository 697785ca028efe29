#!/usr/bin/env bash
# Fuzzes every @FuzzTest method for ROUNDS rounds of 10 s each (default 3) and prints what it found.
# ./test replays only the committed corpus; this command explores further. New coverage goes to
# .cifuzz-corpus/ (kept between runs, not committed); a finding is written next to the committed
# corpus as crash-<sha1> (src/test/resources/.../<Class>Inputs/<method>/): fix it, keep the file.
# Usage: scripts/fuzz.sh [ROUNDS] [Class#method ...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$here/scripts/jdk.sh"
cd "$here"
rounds="${1:-3}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(grep -rl '@FuzzTest' --include='*.java' */src/test/java | while read -r f; do
    cls=$(basename "$f" .java)
    grep -A3 '@FuzzTest' "$f" | sed -n 's/^  void \([a-zA-Z0-9]*\)(.*/\1/p' | sed "s/^/$cls#/"
  done)
fi
status=0
for r in $(seq 1 "$rounds"); do
  for t in "${targets[@]}"; do
    module=$(grep -rl "class ${t%%#*}" --include='*.java' */src/test/java | head -1 | cut -d/ -f1)
    log=$(mktemp)
    if JAZZER_FUZZ=1 ./mvnw -B -o -pl "$module" -am test -Dtest="$t" -Dsurefire.failIfNoSpecifiedTests=false >"$log" 2>&1; then
      execs=$({ grep -a -o "#[0-9]*" "$log" || true; } | tail -1)
      echo "round $r $t: no finding (${execs:-#?} executions)"
    else
      echo "round $r $t: FINDING"; { grep -a -E 'FuzzTestFindingException|Caused by' "$log" || true; } | head -3
      status=1
    fi
    rm -f "$log"
  done
done
exit $status
