#!/usr/bin/env bash
# Stages the natives of one platform into OUT/io/llamaffm/natives/PLATFORM/ with the list the Java loader
# reads (natives.list: release, platform, variant, origin, load order, then sha256 + size + name per file),
# and OUT/MANIFEST.MF, the natives jar's manifest.
#   usage: stage.sh PLATFORM ORIGIN OUT
#     PLATFORM  a natives id of native/platforms.list (linux-x64, linux-x64-cuda, macos-arm64, ...)
#     ORIGIN    cmake (build the host's libraries from the pinned source) | prebuilt (node-llama-cpp's package)
# Only what llama.h needs goes in: libllama, ggml core, the ggml backend plugins (not node's addon, not
# llama-common).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
[ $# -eq 3 ] || die "usage: stage.sh PLATFORM ORIGIN OUT"
platform="$1" origin="$2" out="$3"

entry="$(platform "$platform")"
read -r variant npm <<< "$entry"

dest="$out/io/llamaffm/natives/$platform"
rm -rf "$dest"; mkdir -p "$dest"
# what the tests need beside the jar: the pinned source (tokenizer vectors, headers) and, for the cmake
# origin, the folder of the native tools built from it
printf 'source.dir=%s\n' "$("$NATIVE_DIR/scripts/fetch-source.sh")" > "$out/native-build.properties.tmp"

wanted() { # is this file name a library llama.h needs?
  case "$1" in
    *.node|*.lib|*.exp|*.json) return 1 ;;
    libggml.*|libggml-*|libllama.*|ggml.*.dll|ggml-*.dll|llama.*.dll) ;;
    *) return 1 ;;
  esac
  case "$1" in
    *.so|*.so.[0-9]*|*.dylib|*.dll) return 0 ;;
    *) return 1 ;;
  esac
}

case "$origin" in
  cmake)
    [ "$platform" = linux-x64 ] || [ "$platform" = linux-arm64 ] || die "the cmake origin is wired for Linux hosts only (got $platform)"
    opts=()
    [ "$variant" = cuda ] && opts+=(-DLLAMAFFM_CUDA=ON)
    [ "$variant" = vulkan ] && opts+=(-DLLAMAFFM_VULKAN=ON)
    bin="$("$NATIVE_DIR/scripts/build.sh" "${opts[@]+"${opts[@]}"}")"
    for f in "$bin"/*; do
      name="$(basename "$f")"
      [ -f "$f" ] && [ ! -L "$f" ] && wanted "$name" || continue
      # ship each library under its SONAME: that is the name the others' DT_NEEDED entries ask for
      soname="$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
      cp "$f" "$dest/${soname:-$name}"
    done
    printf 'bin.dir=%s\n' "$bin" >> "$out/native-build.properties.tmp"
    ;;
  prebuilt)
    tgz="$(npm_fetch "$(pin "prebuilt.$npm.package")" "$(pin "prebuilt.$npm.sha256")")"
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    tar -xzf "$tgz" -C "$tmp" "package/bins/$npm"
    for f in "$tmp/package/bins/$npm"/*; do
      name="$(basename "$f")"
      [ -f "$f" ] && wanted "$name" && cp "$f" "$dest/$name"
    done
    ;;
  *) die "unknown origin '$origin' (cmake|prebuilt)" ;;
esac

# load order: ggml-base, then ggml, then llama; every other file is a ggml backend plugin loaded by ggml itself
core() { ls "$dest" | grep -E "$1" | head -n1; }
base="$(core '^(lib)?ggml-base[.]')"
ggml="$(core '^(lib)?ggml([.][a-z]+)?([.]v[0-9.]+)?[.](so|dylib|dll)([.][0-9]+)*$')"
llama="$(core '^(lib)?llama([.][a-z]+)?([.]v[0-9.]+)?[.](so|dylib|dll)([.][0-9]+)*$')"
[ -n "$base" ] && [ -n "$ggml" ] && [ -n "$llama" ] || die "core libraries missing in $dest: $(ls "$dest" | tr '\n' ' ')"
{
  printf 'release %s\nplatform %s\nvariant %s\norigin %s\n' "$(pin llama.release)" "$platform" "$variant" "$origin"
  printf 'load %s\n' "$base" "$ggml" "$llama"
  for f in $(ls "$dest" | LC_ALL=C sort); do
    printf 'file %s %s %s\n' "$(sha256_of "$dest/$f")" "$(wc -c < "$dest/$f" | tr -d ' ')" "$f"
  done
} > "$out/natives.list.tmp"
mv "$out/natives.list.tmp" "$dest/natives.list"
# the jar's manifest: a module name of its own per platform, so that several natives jars (the natives-all
# aggregator) can sit on the module path together; the name derived from the file name would be the same for all
printf 'Automatic-Module-Name: io.llamaffm.natives.%s\n' "${platform//-/.}" > "$out/MANIFEST.MF"
mv "$out/native-build.properties.tmp" "$out/native-build.properties"
log "staged $platform ($origin): $(ls "$dest" | wc -l | tr -d ' ') files, $(du -sh "$dest" | cut -f1)"
