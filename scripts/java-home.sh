#!/usr/bin/env bash
# Sourced by the project's scripts: points JAVA_HOME at a JDK 25 or newer. Keeps a JAVA_HOME that already is
# one; otherwise searches the usual JVM folders (Debian/Ubuntu, macOS, SDKMAN, /opt). Fails with a message.
java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1; }
llamaffm_find_jdk() {
  local candidate major
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    major="$(java_major "$JAVA_HOME")"
    [ "${major:-0}" -ge 25 ] 2>/dev/null && { printf '%s' "$JAVA_HOME"; return 0; }
  fi
  for candidate in /usr/lib/jvm/* /Library/Java/JavaVirtualMachines/*/Contents/Home "$HOME"/.sdkman/candidates/java/* /opt/*jdk* /opt/java/*; do
    [ -x "$candidate/bin/javac" ] || continue
    major="$(java_major "$candidate")"
    [ "${major:-0}" -ge 25 ] 2>/dev/null && { printf '%s' "$candidate"; return 0; }
  done
  return 1
}
if ! JAVA_HOME="$(llamaffm_find_jdk)"; then
  echo "llama-ffm needs a JDK 25 or newer: install one (e.g. Temurin 25) or set JAVA_HOME to it" >&2
  exit 1
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
