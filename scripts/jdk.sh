# Sourced by the scripts: sets JAVA_HOME to a JDK 25+ or exits with a one-line error.
# The major version comes from the JDK's `release` file (no JVM start: ~0.1 s per call saved);
# a JDK without one is asked (java -XshowSettings:properties).
_nanscope_java_major() {
  local home="${1%/bin/java}" v=""
  if [ -f "$home/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release" | head -n 1)
  fi
  if [ -z "$v" ]; then
    v=$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1)
  fi
  echo "$v"
}
_nanscope_find_jdk() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    local v; v=$(_nanscope_java_major "$JAVA_HOME/bin/java")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then echo "$JAVA_HOME"; return; fi
  fi
  local d
  # NANSCOPE_JDK_DIRS: where to look instead (a glob list; scripts/test-launcher.sh empties it)
  for d in ${NANSCOPE_JDK_DIRS-/usr/lib/jvm/*25* /usr/lib/jvm/*}; do
    [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" ] || continue
    local v; v=$(_nanscope_java_major "$d/bin/java")
    if [ -n "$v" ] && [ "$v" -ge 25 ]; then echo "$d"; return; fi
  done
}
_nanscope_jdk="$(_nanscope_find_jdk)"
if [ -z "$_nanscope_jdk" ]; then
  echo "nanscope: no JDK 25 found (JAVA_HOME is not a JDK 25+, none in /usr/lib/jvm): install one, e.g. 'apt-get install temurin-25-jdk', or set JAVA_HOME to it" >&2
  exit 2
fi
export JAVA_HOME="$_nanscope_jdk"
