#!/usr/bin/env bash
# Builds the pinned llama.cpp for the host with the top-level CMakeLists.txt and prints the folder holding
# the libraries and tools. The result is cached outside the repository under a key made of the source
# sha256, the CMake options and the build inputs of ours, so a warm run takes seconds.
#   usage: build.sh [-DLLAMAFFM_CUDA=ON|-DLLAMAFFM_VULKAN=ON|...]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

src="$("$NATIVE_DIR/scripts/fetch-source.sh")"
opts=("$@")
key="$( { pin source.bundle.sha256; pin source.patches; printf '%s\n' "${opts[@]+"${opts[@]}"}"; uname -sm;
          cat "$REPO_DIR/CMakeLists.txt"; } | sha256sum | cut -c1-16)"
out="$CACHE_ROOT/build/$key"
if [ -f "$out/.llamaffm-ready" ]; then log "cached build $key"; printf '%s\n' "$out/bin"; exit 0; fi

jobs="${LLAMAFFM_BUILD_JOBS:-$(nproc 2>/dev/null || sysctl -n hw.ncpu)}"
log "building llama.cpp $(pin llama.release) into $out (key $key, $jobs jobs; a cold build takes minutes)"
mkdir -p "$out"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$REPO_DIR" -B "$out" "${generator[@]+"${generator[@]}"}" -DCMAKE_BUILD_TYPE=Release \
      -DLLAMAFFM_LLAMA_SOURCE_DIR="$src" "${opts[@]+"${opts[@]}"}" >"$out/configure.log" 2>&1 \
  || { tail -n 40 "$out/configure.log" >&2; die "cmake configure failed (log: $out/configure.log)"; }
cmake --build "$out" --config Release -j "$jobs" >"$out/build.log" 2>&1 \
  || { tail -n 40 "$out/build.log" >&2; die "cmake build failed (log: $out/build.log)"; }
touch "$out/.llamaffm-ready"
printf '%s\n' "$out/bin"
