#!/usr/bin/env bash
# Soak: N sequential ROME edits on the embedded model with resident memory sampled (see soak/Soak.java).
#   scripts/soak.sh [--edits 1000] [--every 50] [--restore] [--threads 1] [--hparams FILE]
# The heap is capped (SOAK_XMX, default 256m) so that growth shows as RSS or as an OutOfMemoryError.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh
./nanscope formats >/dev/null   # builds the CLI jar when sources changed
exec "$JAVA_HOME/bin/java" -Xmx"${SOAK_XMX:-256m}" --add-modules jdk.incubator.vector \
  -cp cli/target/nanscope.jar scripts/soak/Soak.java "$@" \
  2> >(grep -v '^WARNING: Using incubator modules' >&2)
