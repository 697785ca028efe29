#!/usr/bin/env bash
# How much of a ROME edit each locality probe receives, token by token (see KeyOverlap.java).
#   scripts/editing/key-overlap.sh [DATA.json] [HPARAMS.yaml]    (defaults: the in-domain edit set, stories260K.yaml)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/jdk.sh
./nanscope formats >/dev/null   # builds the CLI jar when sources changed
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp cli/target/nanscope.jar \
  scripts/editing/KeyOverlap.java "$@" 2> >(grep -v '^WARNING: Using incubator modules' >&2)
