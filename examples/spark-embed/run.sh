#!/usr/bin/env bash
# The Spark embedding example on local[*], without a Spark installation (Spark's jars come from Maven):
#   examples/spark-embed/run.sh index MODEL.gguf examples/spark-embed/corpus /tmp/vectors.parquet
#   examples/spark-embed/run.sh query MODEL.gguf /tmp/vectors.parquet "Where do cats sleep?" 3
# MODEL is a path, sparkfiles:NAME or a hub reference (hf:owner/repo:QUANT); any GGUF embedding model (all-MiniLM-L6-v2:
# examples/semantic-search.sh converts one into examples/target/semantic-search/minilm.gguf).
# On a cluster, submit target/llama-ffm-spark-embed.jar with spark-submit instead (README, "Scaling out").
set -euo pipefail
args=()
for a in "$@"; do [ -e "$a" ] && args+=("$(realpath "$a")") || args+=("$a"); done  # paths are relative to the caller
cd "$(dirname "$0")/../.."
source scripts/java-home.sh
jar=examples/spark-embed/target/llama-ffm-spark-embed.jar
[ -f "$jar" ] || mvn -B -ntp -q -DskipTests package -pl java-api,spark,examples/spark-embed >&2
cp=examples/spark-embed/target/spark.classpath
[ -f "$cp" ] || mvn -B -ntp -q ${MVN_OFFLINE:-} -pl spark dependency:build-classpath -Dmdep.includeScope=provided -Dmdep.outputFile="$PWD/$cp" >&2
# Spark's JVM flags on Java 25 and llama-ffm's native access (io.llamaffm.spark.SparkJvmFlags prints them)
flags=$(java -cp "$jar" io.llamaffm.spark.SparkJvmFlags)
exec java $flags -cp "$jar:$(cat "$cp")" io.llamaffm.examples.spark.SparkEmbed "${args[@]}"
