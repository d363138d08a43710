#!/usr/bin/env bash
# The whole performance comparison in one command; writes benchmarks/RESULTS.md.
#   benchmarks/run.sh [--threads N] [--reps N (30)] [--large-reps N (8)] [--skip-large] [--no-jmh] [--no-jni] [--jni-large]
#                     [--skip-server] [--skip-spark] [--out FILE]
# In one run, same machine and threads: native llama-bench (the pinned build) vs llama-ffm vs the JNI binding
# (de.kherud:llama 4.1.0) on stories260K and on the synthetic 1B-class models (generated on first use into
# ~/.cache/llama-ffm-bench), embeddings vs ONNX Runtime, the prebuilt natives vs a -march=native build, and the
# JMH hot-path benchmarks; then our OpenAI-compatible server next to llama-server under concurrent load
# (benchmarks/server.sh, which also runs alone; --skip-server leaves it out), and embeddings through Spark (local and a
# 2-worker standalone cluster) next to bare Context.embed (benchmarks/spark.sh, also alone; --skip-spark leaves it out),
# and exact vs HNSW vector search at 100 000 vectors (benchmarks/vector-search.sh, also alone).
# A first run builds the -march=native libraries (minutes), llama-server (15-25 minutes on 2 cores) and the models
# (minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
source native/scripts/common.sh
jmh=1
server=1
spark=1
args=()
server_args=()
spark_args=()
vector_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-jmh) jmh=0 ;;
    --skip-server) server=0 ;;
    --skip-spark) spark=0 ;;
    --threads) args+=("$1" "$2"); server_args+=("$1" "$2"); vector_args+=("$1" "$2"); shift ;;
    --out) args+=("$1" "$2"); server_args+=("$1" "$2"); spark_args+=("$1" "$2"); vector_args+=("$1" "$2"); shift ;;
    --skip-large) args+=("$1"); server_args+=(--models stories) ;;
    *) args+=("$1") ;;
  esac
  shift
done

mvn -B -ntp -q -Pbenchmarks -DskipTests package -pl benchmarks -am >&2
bin="$(sed -n 's/^bin.dir=//p' native/target/natives/*/native-build.properties | head -n1)"
[ -x "$bin/llama-bench" ] || die "llama-bench not built (natives from the prebuilt origin?)"

log "the -march=native build of the same source (cached after the first run)"
native_bin="$(native/scripts/build.sh -DLLAMAFFM_CPU_NATIVE=ON)"

prebuilt="benchmarks/target/prebuilt"
if [ ! -d "$prebuilt/linux-x64" ]; then
  tgz="$(npm_fetch "$(pin prebuilt.linux-x64.package)" "$(pin prebuilt.linux-x64.sha256)")"
  mkdir -p "$prebuilt"
  tar -xzf "$tgz" -C "$prebuilt" --strip-components=2 package/bins/linux-x64
fi

jmh_out=benchmarks/target/jmh.txt
if [ "$jmh" = 1 ]; then
  log "JMH hot paths (benchmarks/jmh.sh)"
  benchmarks/jmh.sh -f 1 -wi 3 -i 5 -w 1s -r 1s > /dev/null           # → benchmarks/target/jmh-results.txt
  benchmarks/jmh.sh --overhead > /dev/null                            # → benchmarks/target/overhead.txt
  { head -n1 benchmarks/target/jmh-results.txt; sed -n '/^Benchmark /,$p' benchmarks/target/jmh-results.txt \
      | grep -E '^Benchmark|^[A-Za-z]+\.[A-Za-z]+ |:gc\.alloc\.rate\.norm|:thread\.cpu\.norm'; echo;
    cat benchmarks/target/overhead.txt; } > "$jmh_out"
fi

java --enable-native-access=ALL-UNNAMED -cp "benchmarks/target/classes:benchmarks/target/lib/*" \
    io.llamaffm.benchmarks.SideBySide --llama-bench "$bin/llama-bench" --native-build "$native_bin" \
    --prebuilt "$prebuilt/linux-x64" \
    $( [ "$jmh" = 1 ] && echo "--jmh $jmh_out" ) --command "benchmarks/run.sh ${args[*]-}" "${args[@]+"${args[@]}"}"
# SideBySide rewrote the whole report: the vector-search and server sections go back in after it
log "exact vs HNSW vector search at 100 000 vectors (benchmarks/vector-search.sh)"
benchmarks/vector-search.sh "${vector_args[@]+"${vector_args[@]}"}"
if [ "$server" = 1 ]; then
  log "our server next to llama-server under concurrent load (benchmarks/server.sh)"
  benchmarks/server.sh "${server_args[@]+"${server_args[@]}"}"
fi
if [ "$spark" = 1 ]; then
  log "embeddings through Spark next to bare Context.embed (benchmarks/spark.sh)"
  benchmarks/spark.sh "${spark_args[@]+"${spark_args[@]}"}"
fi
