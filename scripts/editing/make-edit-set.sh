#!/usr/bin/env bash
# Writes the larger in-domain edit set by a fixed rule (see MakeEditSet.java,
# docs/guide/editing-data.md).
#   scripts/editing/make-edit-set.sh [N] [OUT.json]    (defaults: 100, configs/edits/tinystories-edits-100.json)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/jdk.sh
./nanscope formats >/dev/null   # builds the CLI jar when sources changed
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -Xmx1g -cp cli/target/nanscope.jar \
  scripts/editing/MakeEditSet.java "$@" 2> >(grep -v '^WARNING: Using incubator modules' >&2)
