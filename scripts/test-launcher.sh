#!/usr/bin/env bash
# Checks the `nanscope` launcher (docs/guide/startup.md): no rebuild when nothing changed, a rebuild
# and a new AOT cache when a main source changes, the cache used (the CLI's classes come from it)
# and remade when the jar is newer, NANSCOPE_AOT=0, stdout holding only the command's output, and
# the one-line error (exit 2) without a JDK 25. Rebuilds the CLI once (~1 minute). Exit 0: all
# passed.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
fails=0
check() { # check NAME CONDITION-STATUS
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
err="$(mktemp)"
./nanscope --version >/dev/null 2>"$err" || { echo "FAIL the first run"; cat "$err"; exit 1; }

out=$(./nanscope --version 2>"$err")
! grep -q "building" "$err"; check "no rebuild when nothing changed" $?
! grep -q "AOT cache" "$err"; check "no new AOT cache when nothing changed" $?
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ "$out" == "nanscope "* ]]
check "stdout is the version line only" $?

src=cli/src/main/java/io/nanscope/cli/Main.java
touch "$src"
./nanscope --version >/dev/null 2>"$err"
grep -q "building the CLI" "$err"; check "rebuild after a source changed" $?
grep -q "making the JVM's AOT cache" "$err"; check "new AOT cache after the rebuild" $?
[ cli/target/nanscope.aot -nt cli/target/nanscope.jar ]; check "the cache is newer than the jar" $?

log="$(mktemp)"
NANSCOPE_JAVA_OPTS="-Xlog:class+load:file=$log" ./nanscope --version >/dev/null 2>"$err"
grep -q "io.nanscope.cli.Main source: shared objects file" "$log"; check "the CLI's classes come from the AOT cache" $?
NANSCOPE_JAVA_OPTS="-Xlog:class+load:file=$log" ./nanscope --help >/dev/null 2>"$err"
grep -q "picocli.CommandLine source: shared objects file" "$log"
check "picocli's classes come from the AOT cache (cli/src/build/OldClassFiles.java)" $?
NANSCOPE_AOT=0 NANSCOPE_JAVA_OPTS="-Xlog:class+load:file=$log" ./nanscope --version >/dev/null 2>"$err"
grep -q "io.nanscope.cli.Main source: file:" "$log"; check "NANSCOPE_AOT=0 runs without the cache" $?

touch cli/target/nanscope.jar
./nanscope --version >/dev/null 2>"$err"
grep -q "making the JVM's AOT cache" "$err"; check "cache remade when the jar is newer" $?
! grep -q "building" "$err"; check "  (without a rebuild: a newer jar is not a changed source)" $?

./nanscope generate --steps 3 >/dev/null 2>"$err"; rc=$?
[ "$rc" = 2 ] && [ "$(wc -l < "$err")" = 1 ]; check "bad input: one line on stderr, exit 2" $?

out=$(JAVA_HOME=/nonexistent NANSCOPE_JDK_DIRS= ./nanscope --version 2>"$err"); rc=$?
[ "$rc" = 2 ] && [ -z "$out" ] && [ "$(wc -l < "$err")" = 1 ] && grep -q "no JDK 25 found" "$err"
check "no JDK 25: one line, exit 2" $?
if [ -d /usr/lib/jvm/java-17-openjdk-amd64 ]; then
  JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 ./nanscope --version >/dev/null 2>"$err"
  check "JAVA_HOME at a JDK 17 is passed over for a JDK 25" $?
fi
rm -f "$err" "$log"
echo "$fails failed"
[ "$fails" = 0 ]
