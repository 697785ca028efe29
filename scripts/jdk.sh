# Sourced by the scripts: sets JAVA_HOME to a JDK 25+ or exits with a one-line error.
# The major version comes from the JDK's `release` file, read with bash builtins (no JVM start, which
# cost ~0.1 s per call, and no sed); a JDK without one is asked (java -XshowSettings:properties).
_nanscope_java_major() { # sets _nanscope_v to the major version of JDK $1 (a directory), or ""
  local line
  _nanscope_v=""
  if [ -f "$1/release" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      if [[ $line =~ ^JAVA_VERSION=\"([0-9]+) ]]; then
        _nanscope_v=${BASH_REMATCH[1]}
        return
      fi
    done < "$1/release"
  fi
  _nanscope_v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1)
}
_nanscope_find_jdk() { # sets _nanscope_jdk to the first JDK 25+, or ""
  _nanscope_jdk=""
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    _nanscope_java_major "$JAVA_HOME"
    if [ -n "$_nanscope_v" ] && [ "$_nanscope_v" -ge 25 ]; then _nanscope_jdk="$JAVA_HOME"; return; fi
  fi
  local d
  # NANSCOPE_JDK_DIRS: where to look instead (a glob list; scripts/test-launcher.sh empties it)
  for d in ${NANSCOPE_JDK_DIRS-/usr/lib/jvm/*25* /usr/lib/jvm/*}; do
    [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" ] || continue
    _nanscope_java_major "$d"
    if [ -n "$_nanscope_v" ] && [ "$_nanscope_v" -ge 25 ]; then _nanscope_jdk="$d"; return; fi
  done
}
_nanscope_find_jdk
if [ -z "$_nanscope_jdk" ]; then
  echo "nanscope: no JDK 25 found (JAVA_HOME is not a JDK 25+, none in /usr/lib/jvm): install one, e.g. 'apt-get install temurin-25-jdk', or set JAVA_HOME to it" >&2
  exit 2
fi
export JAVA_HOME="$_nanscope_jdk"
