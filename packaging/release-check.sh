#!/usr/bin/env bash
# Builds the Maven Central bundle of a release (-Prelease with every platform's natives) and checks it: every
# published artifact is there with its POM, jar, sources jar and Javadoc jar (Javadoc built with doclint, no errors),
# each file with its checksums; the POMs carry what Central requires (name, description, URL, licence, developers,
# SCM); the modules that are not published (examples, benchmarks) are absent. Everything but the signature (-Psign).
#
#   packaging/release-check.sh [VERSION]        (default: the project's version without -SNAPSHOT)
#
# A SNAPSHOT goes to Central's snapshot repository, not into a bundle, so the check builds a copy of this checkout
# (tracked and untracked files, not ignored ones) set to a release version, in a temporary folder, and builds its bundle
# with packaging/release-bundle.sh, with the natives of the prebuilt packages (the host's llama.cpp build folder stays with this checkout; a release's natives jars are
# built by ./test.sh's install). Nothing is installed or uploaded. ./test.sh runs it after its build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
say() { printf '[release-check] %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

snapshot="$(sed -n 's|^  <version>\(.*\)</version>$|\1|p' pom.xml | head -n1)"
version="${1:-${snapshot%-SNAPSHOT}}"
[[ "$version" != *-SNAPSHOT ]] || fail "a release version is needed, not $version"
work="$(mktemp -d "${TMPDIR:-/tmp}/llama-ffm-release.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$work/src"
cd "$work/src"
say "building the bundle of $version in $work (prebuilt natives, tests skipped)"
mvn -B -ntp -q org.codehaus.mojo:versions-maven-plugin:2.18.0:set -DnewVersion="$version" -DgenerateBackupPoms=false \
    -DprocessAllModules=true -Pall-platforms
packaging/release-bundle.sh -Dllamaffm.natives.origin=prebuilt
bundle=target/central-bundle.zip
[ -f "$bundle" ] || fail "no $bundle"
mkdir "$work/bundle"
(cd "$work/bundle" && jar xf "$work/src/$bundle")
say "bundle: $(du -h "$bundle" | cut -f1), $(find "$work/bundle" -type f | wc -l) files"

base="$work/bundle/io/llamaffm"
# artifactId:kind, kind = pom (a POM alone) | jar (jar + sources + javadoc) | natives (natives jars per platform)
expected=(llama-ffm-parent:pom llama-ffm-bindings:jar llama-ffm:jar llama-ffm-langchain4j:jar llama-ffm-lucene:jar llama-ffm-server:jar
          llama-ffm-natives:natives llama-ffm-natives-all:pom-or-jar llama-ffm-natives-cpu:pom-or-jar)
for module in */pom.xml; do   # modules added later are published unless they skip deployment
  id="$(sed -n '/<parent>/,/<\/parent>/d; s|^  <artifactId>\(.*\)</artifactId>$|\1|p' "$module" | head -n1)"
  grep -q '<maven.deploy.skip>true' "$module" && continue
  printf '%s\n' "${expected[@]}" | grep -q "^$id:" || expected+=("$id:jar")
done
checked=0
need() { # FILE: present, with md5 and sha1 (and sha256, sha512) beside it
  [ -f "$1" ] || fail "missing ${1#"$work/bundle/"}"
  for sum in md5 sha1; do [ -f "$1.$sum" ] || fail "missing ${1#"$work/bundle/"}.$sum"; done
  checked=$((checked + 1))
}
for entry in "${expected[@]}"; do
  id="${entry%%:*}" kind="${entry#*:}"
  dir="$base/$id/$version"
  pom="$dir/$id-$version.pom"
  need "$pom"
  for tag in name description; do grep -q "<$tag>" "$pom" || fail "$id's POM has no <$tag>"; done
  case "$kind" in
    jar) need "$dir/$id-$version.jar"; need "$dir/$id-$version-sources.jar"; need "$dir/$id-$version-javadoc.jar"
         jar tf "$dir/$id-$version-javadoc.jar" | grep -q '^index.html$' || fail "$id's Javadoc jar has no index.html" ;;
    natives) need "$dir/$id-$version-sources.jar"; need "$dir/$id-$version-javadoc.jar"
         while read -r platform _; do need "$dir/$id-$version-natives-$platform.jar"
         done < <(awk '!/^#/ && NF' native/platforms.list) ;;
    pom-or-jar) [ ! -f "$dir/$id-$version.jar" ] || { need "$dir/$id-$version.jar"; need "$dir/$id-$version-sources.jar"
         need "$dir/$id-$version-javadoc.jar"; } ;;
  esac
done
parent="$base/llama-ffm-parent/$version/llama-ffm-parent-$version.pom"
for tag in url licenses developers scm; do grep -q "<$tag>" "$parent" || fail "the parent POM has no <$tag> (the others inherit it)"; done
for gone in llama-ffm-examples llama-ffm-benchmarks llama-ffm-consumer; do
  [ ! -e "$base/$gone" ] || fail "$gone is in the bundle; it is not published"
done
extra="$(cd "$base" && ls | grep -vxF -f <(printf '%s\n' "${expected[@]%%:*}") || true)"
[ -z "$extra" ] || fail "unexpected artifacts in the bundle: $extra"
say "OK: ${#expected[@]} artifacts, $checked files, each with md5 and sha1; POM metadata complete; no signatures (-Psign adds them)"
