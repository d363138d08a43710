#!/usr/bin/env bash
# Builds the release bundle Maven Central's portal takes: target/central-bundle.zip, a Maven repository of every
# published artifact (POM, jar, sources and Javadoc jars, each with md5 and sha1; .asc signatures with -Psign
# -Dgpg.keyname=KEY) and nothing else. Upload it in the portal (Publish → Upload bundle) or with its API.
#   packaging/release-bundle.sh [maven arguments...]     e.g. -Psign -Dgpg.keyname=ID, -Dllamaffm.natives.origin=prebuilt
# The version must be a release one (no -SNAPSHOT): set it first (mvn versions:set -DnewVersion=X). Every
# platform's natives jar goes in (-Pall-platforms); tests are skipped (./test.sh runs them).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/java-home.sh
version="$(sed -n 's|^  <version>\(.*\)</version>$|\1|p' pom.xml | head -n1)"
[[ "$version" != *-SNAPSHOT ]] || { echo "[release] $version is a snapshot: set a release version first" >&2; exit 1; }
rm -rf target/central-staging target/central-bundle.zip
mvn -B -ntp -q -Prelease,all-platforms -DskipTests -Dmaven.install.skip=true deploy "$@"
# the repository's own index files are not part of a component: the portal takes the files of each version only
find target/central-staging -name 'maven-metadata.xml*' -delete
jar --create --no-manifest --file target/central-bundle.zip -C target/central-staging .
echo "[release] target/central-bundle.zip: $(du -h target/central-bundle.zip | cut -f1)" >&2
