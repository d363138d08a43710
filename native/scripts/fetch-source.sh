#!/usr/bin/env bash
# Prints the path of the pinned llama.cpp source tree, obtaining it first if needed:
# npm package (sha256-verified) -> git bundle (sha256-verified) -> clone -> node-llama-cpp's patches.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bundle_sha="$(pin source.bundle.sha256)"
src="$CACHE_ROOT/src/$bundle_sha"
if [ -f "$src/.llamaffm-ready" ]; then printf '%s\n' "$src"; exit 0; fi

tgz="$(npm_fetch "$(pin source.package)" "$(pin source.sha256)")"
work="$(mktemp -d "$CACHE_ROOT/src/.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$CACHE_ROOT/src"; mktemp -d "$CACHE_ROOT/src/.tmp.XXXXXX"; })"
trap 'rm -rf "$work"' EXIT
patches="$(pin source.patches)"
tar -xzf "$tgz" -C "$work" "package/$(pin source.bundle)" $(for p in ${patches//,/ }; do printf 'package/%s ' "$p"; done)
verify_sha256 "$work/package/$(pin source.bundle)" "$bundle_sha"
git clone --quiet "$work/package/$(pin source.bundle)" "$work/tree" 2>/dev/null
for p in ${patches//,/ }; do
  log "applying $(basename "$p")"
  git -C "$work/tree" apply "$work/package/$p"
done
touch "$work/tree/.llamaffm-ready"
rm -rf "$src"; mv "$work/tree" "$src"
printf '%s\n' "$src"
