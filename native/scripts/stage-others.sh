#!/usr/bin/env bash
# Stages every platform of native/platforms.list but the host's from node-llama-cpp's prebuilt packages, each into
# OUT_ROOT/ID (mvn -Pall-platforms; the host's own platform is staged by the stage-host execution, from its origin).
#   usage: stage-others.sh HOST OUT_ROOT
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -eq 2 ] || die "usage: stage-others.sh HOST OUT_ROOT"
host="$1" out="$2"
for id in $(platform_ids); do
  [ "$id" = "$host" ] || "$NATIVE_DIR/scripts/stage.sh" "$id" prebuilt "$out/$id"
done
