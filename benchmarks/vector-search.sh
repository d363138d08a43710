#!/usr/bin/env bash
# Exact (VectorIndex) vs HNSW (LuceneVectorStore) at 100 000 vectors: recall@10, build time, size on disk, query
# latency p50/p99, on seeded synthetic clustered vectors (384 dims) and on all-MiniLM-L6-v2 embeddings of 100 000
# generated short texts (embedded once through llama-ffm, then cached in ~/.cache/llama-ffm-bench), then the CLI's
# `search --index-type hnsw` run on that index. Writes the "Vector search: exact vs HNSW" section of
# benchmarks/RESULTS.md in place (benchmarks/run.sh runs this after the rest).
#   benchmarks/vector-search.sh [--n 100000] [--queries 200] [--threads 2] [--cli-queries 10] [--out FILE]
# A first run embeds the corpus (minutes on 2 cores); later runs take a few minutes (mostly the HNSW builds).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
mvn -B -ntp -q -Pbenchmarks -DskipTests package -pl benchmarks,examples -am >&2
# --add-modules jdk.incubator.vector: Lucene computes vector distances with the Vector API (the report says whether on)
exec java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx8g \
    -cp "benchmarks/target/classes:benchmarks/target/lib/*" io.llamaffm.benchmarks.VectorSearchBench \
    --cli-jar examples/target/llama-ffm-examples.jar --command "benchmarks/vector-search.sh${*:+ $*}" "$@"
