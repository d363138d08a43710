#!/usr/bin/env bash
# Realistic-size models for benchmarks: Llama-3.2-1B's shapes (16 layers, embedding 2048, 32 heads, 8 KV heads,
# FFN 8192), seeded random weights, stories260K's 512-token tokenizer: 974,194,688 parameters. Written as F16 by our
# GGUF writer, quantized by our Quantizer, cached outside the repository and made only when missing.
#   benchmarks/make-models.sh [CACHE_DIR] [TYPE...]   (default: ~/.cache/llama-ffm-bench q4_0 q8_0; types f16 q8_0 q4_0)
# Prints each file's path and size. Needs about 3.5 GB of disk (the F16 file stays as the source of the others)
# and 3 GB of Java heap while the F16 file is written.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
mvn -B -ntp -q -Pbenchmarks -DskipTests package -pl benchmarks -am >&2
exec java -Xmx3g --enable-native-access=ALL-UNNAMED -cp "benchmarks/target/classes:benchmarks/target/lib/*" \
    io.llamaffm.benchmarks.SyntheticModel "${1:-$HOME/.cache/llama-ffm-bench}" "${@:2}"
