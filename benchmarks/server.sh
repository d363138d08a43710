#!/usr/bin/env bash
# Our OpenAI-compatible server (server/) next to llama.cpp's llama-server from the same pinned source, under the
# same concurrent streaming load, over HTTP only; writes the "Server under concurrency" section of
# benchmarks/RESULTS.md, replacing it in place (benchmarks/run.sh runs this after the rest unless --skip-server).
#   benchmarks/server.sh [--models stories,1b] [--levels 1,2,4,8,16] [--requests 32,4] [--rounds 1] [--max-tokens 64]
#                        [--threads 2] [--control-threads 1] [--ctx-per-slot 512] [--warmup 1] [--warmup-seconds 10] [--out FILE]   (all: --help)
# Models: stories = ../shared/models/stories260K.gguf, 1b = the synthetic 1B-class Q4_0 model (benchmarks/make-models.sh,
# made on first use, minutes), or paths of GGUF files. A first run builds llama-server (benchmarks/build-llama-server.sh:
# 15-25 minutes on 2 cores, then cached). The servers' logs go to benchmarks/target/server-logs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
mvn -B -ntp -q -Pbenchmarks -DskipTests package -pl server,benchmarks -am >&2
llama_server="$(benchmarks/build-llama-server.sh)"
exec java --enable-native-access=ALL-UNNAMED -cp "benchmarks/target/classes:benchmarks/target/lib/*" \
    io.llamaffm.benchmarks.ServerBench --llama-server "$llama_server" --command "benchmarks/server.sh${*:+ $*}" "$@"
