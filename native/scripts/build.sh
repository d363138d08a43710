#!/usr/bin/env bash
# Builds the pinned llama.cpp for the host with the top-level CMakeLists.txt and prints the folder holding
# the libraries and tools. The build folder is cached outside the repository under a key made of the source
# sha256, its patches, the CMake options and the host; a warm run is an incremental build that finds nothing
# (or only our own changed files) to compile, so it takes seconds.
#   usage: build.sh [--cached] [-DLLAMAFFM_CUDA=ON|-DLLAMAFFM_VULKAN=ON|...]
# --cached: build nothing; print the folder and exit 0 if a finished build with these options is cached, else exit 1.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

cached_only=false
if [ "${1:-}" = --cached ]; then cached_only=true; shift; fi
opts=("$@")
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
key="$( { pin source.bundle.sha256; pin source.patches; printf '%s\n' "${opts[@]+"${opts[@]}"}" "${generator[@]+"${generator[@]}"}";
          uname -sm; } | sha256_stdin | cut -c1-16)"
out="$CACHE_ROOT/build/$key"
if $cached_only; then
  [ -f "$out/.llamaffm-ready" ] && [ -f "$out/CMakeCache.txt" ] || exit 1
  printf '%s\n' "$out/bin"; exit 0
fi
src="$("$NATIVE_DIR/scripts/fetch-source.sh")"
jobs="${LLAMAFFM_BUILD_JOBS:-$(nproc 2>/dev/null || sysctl -n hw.ncpu)}"
if [ -f "$out/.llamaffm-ready" ]; then
  log "cached build $key: incremental check"
else
  log "building llama.cpp $(pin llama.release) into $out (key $key, $jobs jobs; a cold build takes minutes)"
fi
mkdir -p "$out"
# one build per folder at a time (two checkouts or two Maven runs share this cache)
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out.lock"
  flock 9
fi
# The folder is shared by every checkout (worktrees, fresh clones), but CMake ties it to the checkout that configured
# it: when that is another one (perhaps deleted since), configure again for this one. Object files whose command lines
# stay the same (all of llama.cpp's) are kept, so this costs a configure and a few of our own files, not a cold build.
configured="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$out/CMakeCache.txt" 2>/dev/null || true)"
if [ -n "$configured" ] && [ "$configured" != "$(cd "$REPO_DIR" && pwd -P)" ]; then
  log "build folder configured for $configured: configuring it for $REPO_DIR"
  rm -rf "$out/CMakeCache.txt" "$out/CMakeFiles"
fi
if [ ! -f "$out/CMakeCache.txt" ]; then
  cmake -S "$REPO_DIR" -B "$out" "${generator[@]+"${generator[@]}"}" -DCMAKE_BUILD_TYPE=Release \
        -DLLAMAFFM_LLAMA_SOURCE_DIR="$src" "${opts[@]+"${opts[@]}"}" >"$out/configure.log" 2>&1 \
    || { tail -n 40 "$out/configure.log" >&2; rm -f "$out/CMakeCache.txt"; die "cmake configure failed (log: $out/configure.log)"; }
fi
cmake --build "$out" --config Release -j "$jobs" >"$out/build.log" 2>&1 \
  || { tail -n 40 "$out/build.log" >&2; die "cmake build failed (log: $out/build.log)"; }
touch "$out/.llamaffm-ready"
printf '%s\n' "$out/bin"
