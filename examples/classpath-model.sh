#!/usr/bin/env bash
# Ships a GGUF model inside a jar and loads it from the class path (Model.loadResource, no temporary file):
#   examples/classpath-model.sh [MODEL.gguf] [PROMPT] [MAX_TOKENS]    (default model: ../shared/models/stories260K.gguf)
# Packs MODEL as the resource models/<file name> into examples/target/classpath-model/model.jar (stored, not
# compressed), then runs io.llamaffm.examples.ClasspathModel with that jar on the class path.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
model="${1:-../shared/models/stories260K.gguf}"
[ -f "$model" ] || { echo "no model at $model" >&2; exit 2; }
jar=examples/target/llama-ffm-examples.jar
[ -f "$jar" ] || mvn -B -ntp -q -DskipTests package -pl examples -am >&2
work=examples/target/classpath-model
resource="models/$(basename "$model")"
rm -rf "$work"
mkdir -p "$work/models"
cp "$model" "$work/$resource"
jar --create --no-compress --file "$work/model.jar" -C "$work" "$resource"
rm "$work/$resource"
exec java --enable-native-access=ALL-UNNAMED -cp "$jar:$work/model.jar" io.llamaffm.examples.ClasspathModel \
    "$resource" "${2:-Once upon a time}" "${3:-32}"
