#!/usr/bin/env bash
# Edit Succ. / Portability / Locality of MEMIT or AlphaEdit on an edit set (see MemitFigures.java).
#   scripts/editing/memit-figures.sh HPARAMS.yaml single|sequential|batch [POLICY] [DATA.json]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/jdk.sh
./nanscope formats >/dev/null   # builds the CLI jar when sources changed
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -Xmx2g -cp cli/target/nanscope.jar \
  scripts/editing/MemitFigures.java "$@" 2> >(grep -v '^WARNING: Using incubator modules' >&2)
