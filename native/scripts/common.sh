#!/usr/bin/env bash
# Shared helpers for the native scripts: the pin, the platform list, the cache folder, verified npm downloads.
# Sourced, never run. Everything fetched lands in the cache, outside the repository.
set -euo pipefail

NATIVE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$NATIVE_DIR/.." && pwd)"
PIN_FILE="$NATIVE_DIR/pin.properties"
PLATFORMS_FILE="$NATIVE_DIR/platforms.list"
CACHE_ROOT="${LLAMAFFM_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llama-ffm-build}"

log() { printf '[llama-ffm] %s\n' "$*" >&2; }
die() { printf '[llama-ffm] error: %s\n' "$*" >&2; exit 1; }

# pin KEY -> value from pin.properties (fails if absent)
pin() {
  local v
  v="$(grep -E "^$1=" "$PIN_FILE" | head -n1 | cut -d= -f2-)" || true
  [ -n "$v" ] || die "pin.properties has no key '$1'"
  printf '%s' "$v"
}

# platform_ids -> every natives id of platforms.list, one a line, in its order
platform_ids() { awk '!/^#/ && NF { print $1 }' "$PLATFORMS_FILE"; }

# platform ID -> "VARIANT PACKAGE" from platforms.list (fails if ID is not listed)
platform() {
  awk -v id="$1" '!/^#/ && $1 == id { print $2, $3; found = 1 } END { exit !found }' "$PLATFORMS_FILE" \
    || die "unknown platform '$1' (native/platforms.list has: $(platform_ids | paste -sd ' ' -))"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

sha256_stdin() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d' ' -f1; else shasum -a 256 | cut -d' ' -f1; fi
}

verify_sha256() { # FILE EXPECTED
  local got; got="$(sha256_of "$1")"
  [ "$got" = "$2" ] || die "sha256 mismatch for $1: expected $2, got $got"
}

# npm_fetch PACKAGE SHA256 -> prints the path of the verified tarball (downloaded once into the cache).
npm_fetch() {
  local pkg="$1" sha="$2" version dir tgz
  version="$(pin npm.version)"
  dir="$CACHE_ROOT/npm"
  mkdir -p "$dir"
  tgz="$dir/$(printf '%s' "$pkg" | sed -e 's|^@||' -e 's|/|-|')-$version.tgz"
  if [ -f "$tgz" ] && [ "$(sha256_of "$tgz")" = "$sha" ]; then printf '%s' "$tgz"; return; fi
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch $pkg@$version (install Node.js)"
  log "fetching $pkg@$version"
  local tmp; tmp="$(mktemp -d "$dir/.tmp.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null) || { rm -rf "$tmp"; die "npm pack $pkg@$version failed"; }
  local got; got="$(ls "$tmp"/*.tgz)"
  verify_sha256 "$got" "$sha"
  mv "$got" "$tgz"; rm -rf "$tmp"
  printf '%s' "$tgz"
}
