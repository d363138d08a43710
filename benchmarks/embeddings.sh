#!/usr/bin/env bash
# Embeddings/s of llama-ffm vs ONNX Runtime on all-MiniLM-L6-v2 (same texts, same threads, one run), with cosines.
#   benchmarks/embeddings.sh [THREADS] [REPETITIONS]   → benchmarks/target/embeddings.md
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
mvn -B -ntp -q -Pbenchmarks -DskipTests package -pl benchmarks -am >&2
exec java --enable-native-access=ALL-UNNAMED -cp "benchmarks/target/classes:benchmarks/target/lib/*" \
    io.llamaffm.benchmarks.EmbeddingBench "${1:-2}" "${2:-5}" benchmarks/target/embeddings.md
