#!/usr/bin/env bash
# Builds llama.cpp's llama-server from the pinned source (CPU only, Release, every CPU backend variant loaded at
# run time as in the default build, no web UI) and prints the binary's path. The build is native/scripts/build.sh
# with -DLLAMAFFM_SERVER=ON -DLLAMAFFM_TOOLS=OFF: its own cached folder under ~/.cache/llama-ffm-build/build,
# the default build's folder (and key) untouched. A cold build takes 15-25 minutes on 2 cores; then seconds.
#   usage: benchmarks/build-llama-server.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(native/scripts/build.sh -DLLAMAFFM_SERVER=ON -DLLAMAFFM_TOOLS=OFF)"
[ -x "$bin/llama-server" ] || { echo "[llama-ffm] error: no llama-server in $bin" >&2; exit 1; }
printf '%s\n' "$bin/llama-server"
