#!/usr/bin/env bash
# Builds everything (llama.cpp from the pinned source, bindings, API, natives jars for every platform, and the
# benchmarks module, which only -Pbenchmarks adds), runs all tests: JUnit (Surefire) and the integration tests
# (Failsafe), and installs the artifacts into the local Maven repository; then builds packaging/consumer, a separate
# project that uses them by their coordinates and generates text with them on the class path and on the module
# path. Between the two, packaging/release-check.sh builds the release bundle of the same sources and checks it.
# Extra arguments go to the main build's Maven.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/java-home.sh
mvn -B -ntp -Pall-platforms,benchmarks install "$@"
packaging/release-check.sh   # the Maven Central bundle of a release version: every artifact, sources, Javadoc, POM metadata
version="$(sed -n 's|^  <version>\(.*\)</version>$|\1|p' pom.xml | head -n1)"   # the parent's own version
exec mvn -B -ntp -f packaging/consumer/pom.xml verify -Dllamaffm.version="$version" -Dllamaffm.natives=all
