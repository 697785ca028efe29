#!/usr/bin/env bash
# Own share and cross-talk of each request in a MEMIT batch (see MemitBatchShare.java,
# docs/lab/2026-12-06-memit-alphaedit.md).
#   scripts/editing/memit-batch-share.sh [HPARAMS.yaml] [DATA.json] [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/jdk.sh
./nanscope formats >/dev/null   # builds the CLI jar when sources changed
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -Xmx1g -cp cli/target/nanscope.jar \
  scripts/editing/MemitBatchShare.java "$@" 2> >(grep -v '^WARNING: Using incubator modules' >&2)
