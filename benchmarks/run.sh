#!/usr/bin/env bash
# Side-by-side: llama-ffm vs native llama-bench from the same pinned build, one run, same model and threads.
#   benchmarks/run.sh [MODEL.gguf] [THREADS] [REPETITIONS]   (default: ../shared/models/stories260K.gguf 2 5)
# Prints a Markdown table and writes it to benchmarks/target/side-by-side.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
model="${1:-../shared/models/stories260K.gguf}"
threads="${2:-2}"
reps="${3:-5}"
mvn -B -ntp -q -DskipTests package -pl benchmarks -am >&2
bin="$(sed -n 's/^bin.dir=//p' native/target/natives/*/native-build.properties | head -n1)"
[ -x "$bin/llama-bench" ] || { echo "llama-bench not built (natives from the prebuilt origin?)" >&2; exit 1; }
exec java --enable-native-access=ALL-UNNAMED -cp "benchmarks/target/classes:benchmarks/target/lib/*" \
    io.llamaffm.benchmarks.SideBySide "$bin/llama-bench" "$model" "$threads" "$reps" benchmarks/target/side-by-side.md
