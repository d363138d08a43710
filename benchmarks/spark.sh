#!/usr/bin/env bash
# Embeddings/s through Spark (local[1], local[2], a real standalone cluster of two 1-core workers on this machine)
# next to bare Context.embed with the same total threads, model (all-MiniLM-L6-v2, GGUF F32), corpus and batching;
# Spark's overhead per core. Writes the "Spark" section of benchmarks/RESULTS.md, replacing it in place
# (benchmarks/run.sh runs this after the rest unless --skip-spark).
#   benchmarks/spark.sh [--texts N (1024)] [--reps N (5)] [--out FILE]
# The cluster's logs: benchmarks/target/spark-bench/cluster/logs, its executors' in .../cluster/work.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
mvn -B -ntp -q -Pbenchmarks -DskipTests package -pl benchmarks -am >&2
exec java --enable-native-access=ALL-UNNAMED -cp "benchmarks/target/classes:benchmarks/target/lib/*" \
    io.llamaffm.benchmarks.SparkBench --command "benchmarks/spark.sh${*:+ $*}" "$@"
