#!/usr/bin/env bash
# Loads a GGUF model and generates text, printing the backend (and CPU variant) it runs on.
#   ./run.sh [MODEL.gguf] [PROMPT] [MAX_TOKENS]     (default model: ../shared/models/stories260K.gguf)
# Builds the executable examples jar first if it is missing (tests skipped). When no llama.cpp build from the
# pinned source is cached yet (a cold one takes 10-25 minutes), that first jar carries the pinned prebuilt
# libraries of the host instead (node-llama-cpp's package, sha256-checked), so a fresh machine reaches its first
# token in a few minutes; ./test.sh builds llama.cpp from source, and a later build of the jar uses that build.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/java-home.sh
jar=examples/target/llama-ffm-examples.jar
say() { printf '[run.sh] %s\n' "$*" >&2; }
if [ ! -f "$jar" ]; then
  start=$SECONDS
  origin=()
  if native/scripts/build.sh --cached >/dev/null 2>&1; then
    say "building the examples jar with the cached llama.cpp build"
  else
    say "no llama.cpp build from source cached: this jar takes the pinned prebuilt libraries of the host"
    say "(./test.sh builds llama.cpp from source, 10-25 minutes on 2 cores; a later jar uses that build)"
    origin=(-Dllamaffm.natives.origin=prebuilt)
  fi
  say "building the examples jar (a first Maven run also downloads its plugins); each module as it starts:"
  log="$(mktemp "${TMPDIR:-/tmp}/llama-ffm-run.XXXXXX.log")"
  # Maven's own lines, all but the one that starts each module, go to the log
  set +e
  mvn -B -ntp -DskipTests -Dmaven.javadoc.skip=true package -pl examples -am "${origin[@]+"${origin[@]}"}" 2>&1 \
    | tee "$log" | sed -un 's/^\[INFO\] Building \(.*\) \[\([0-9]*\)\/\([0-9]*\)\]$/[run.sh]   module \2 of \3: \1/p' >&2
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    say "the build failed (whole log: $log)"
    exit 1
  fi
  rm -f "$log"
  say "built in $((SECONDS - start)) s"
fi
exec java --enable-native-access=ALL-UNNAMED -jar "$jar" "$@"
