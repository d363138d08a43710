#!/usr/bin/env bash
# The GGUF fuzz campaign of RELIABILITY.md: INPUTS mutants (default 10000) of stories260K, the MoE model and LoRA
# adapter derived from it and three of llama.cpp's vocabulary files, each loaded (and run) in a child JVM with
# -Xmx256m so that a crash, a hang or an OutOfMemoryError is counted. Runs GgufFuzzIT with more inputs.
#
#   scripts/fuzz.sh [INPUTS] [SEED] [JOBS] [maven arguments...]
#
# JOBS child JVMs run at once (default 2). The report (report.md), every input's outcome (outcomes.tsv) and each
# crasher with its description, stderr and hs_err file (crashers/) land in java-api/target/fuzz-SEED/.
# Exit status 0 when every input ended as a loaded model or a typed exception.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
inputs=${1:-10000}
seed=${2:-1}
jobs=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
out="$PWD/java-api/target/fuzz-$seed"
status=0
mvn -B -ntp -q verify -pl java-api -am -Dtest=NoSuch -Dsurefire.failIfNoSpecifiedTests=false \
    -Dit.test=GgufFuzzIT -Dfailsafe.failIfNoSpecifiedTests=false -Dllamaffm.fuzz.inputs="$inputs" \
    -Dllamaffm.fuzz.seed="$seed" -Dllamaffm.fuzz.jobs="$jobs" -Dllamaffm.fuzz.out="$out" "$@" || status=$?
if [[ -f "$out/report.md" ]]; then
    cat "$out/report.md"
fi
exit "$status"
