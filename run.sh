#!/usr/bin/env bash
# Loads a GGUF model and generates text, printing the backend (and CPU variant) it runs on.
#   ./run.sh [MODEL.gguf] [PROMPT] [MAX_TOKENS]     (default model: ../shared/models/stories260K.gguf)
# Builds the executable examples jar first if it is missing (tests skipped).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/java-home.sh
jar=examples/target/llama-ffm-examples.jar
if [ ! -f "$jar" ]; then
  mvn -B -ntp -q -DskipTests package -pl examples -am >&2
fi
exec java --enable-native-access=ALL-UNNAMED -jar "$jar" "$@"
