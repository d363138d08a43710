#!/usr/bin/env bash
# JMH micro-benchmarks of the per-token hot paths on stories260K, each against the same native calls made straight
# through the bindings, with the GC profiler (gc.alloc.rate.norm) and ThreadProfiler (CPU time and allocation of the
# benchmark thread per operation).
#   benchmarks/jmh.sh [JMH ARGS]       e.g. benchmarks/jmh.sh GenerationBench -f 1 -wi 3 -i 5    (-h: JMH's options)
#   benchmarks/jmh.sh --overhead [ROUNDS]   the Java-side time per generated token (JavaOverhead)
# Runs from the repository root (the model is ../shared/models/stories260K.gguf; -p model=PATH for another) and
# writes the command and its output to benchmarks/target/jmh-results.txt (overhead: benchmarks/target/overhead.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
mvn -B -ntp -q -Pbenchmarks -DskipTests package -pl benchmarks -am >&2
jar=benchmarks/target/llama-ffm-jmh.jar
if [ "${1:-}" = "--overhead" ]; then
    shift
    cmd=(java --enable-native-access=ALL-UNNAMED -cp "$jar" io.llamaffm.benchmarks.jmh.JavaOverhead "${1:-400}")
    out=benchmarks/target/overhead.txt
else
    cmd=(java -jar "$jar" -prof gc -prof io.llamaffm.benchmarks.jmh.ThreadProfiler "$@")
    out=benchmarks/target/jmh-results.txt
fi
{ echo "\$ ${cmd[*]}"; "${cmd[@]}"; } 2>&1 | tee "$out"
