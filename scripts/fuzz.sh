#!/usr/bin/env bash
# The GGUF fuzz campaigns of RELIABILITY.md, each input loaded (and run) in a child JVM with -Xmx256m so that a
# crash, a hang or an OutOfMemoryError is counted.
#
#   scripts/fuzz.sh [INPUTS] [SEED] [JOBS] [maven arguments...]
#       INPUTS mutants (default 10000) of stories260K, the MoE model and LoRA adapter derived from it and three of
#       llama.cpp's vocabulary files (GgufFuzzIT with more inputs).
#   scripts/fuzz.sh --architectures [PER_ARCHITECTURE] [SEED] [JOBS] [maven arguments...]
#       PER_ARCHITECTURE mutants (default 2000) of the fuzz seed of each of the 16 families of the architecture
#       matrix, in turn (ArchitectureFuzzIT with more inputs).
#
# JOBS child JVMs run at once (default 2). The report (report.md, with a row per seed file), every input's outcome
# (outcomes.tsv) and each crasher with its description, stderr and hs_err file (crashers/) land in
# java-api/target/fuzz-SEED/ (java-api/target/fuzz-architectures-SEED/). Exit status 0 when every input ended as a
# loaded model or a typed exception.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
if [[ "${1:-}" == "--architectures" ]]; then
    shift
    test=ArchitectureFuzzIT
    count=-Dllamaffm.fuzz.perArchitecture="${1:-2000}"
    name=fuzz-architectures
else
    test=GgufFuzzIT
    count=-Dllamaffm.fuzz.inputs="${1:-10000}"
    name=fuzz
fi
seed=${2:-1}
jobs=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
out="$PWD/java-api/target/$name-$seed"
status=0
mvn -B -ntp -q verify -pl java-api -am -Dtest=NoSuch -Dsurefire.failIfNoSpecifiedTests=false \
    -Dit.test="$test" -Dfailsafe.failIfNoSpecifiedTests=false "$count" \
    -Dllamaffm.fuzz.seed="$seed" -Dllamaffm.fuzz.jobs="$jobs" -Dllamaffm.fuzz.out="$out" "$@" || status=$?
if [[ -f "$out/report.md" ]]; then
    cat "$out/report.md"
fi
exit "$status"
