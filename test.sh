#!/usr/bin/env bash
# Builds everything (llama.cpp from the pinned source, bindings, API, natives jars for every platform) and runs
# all tests: JUnit (Surefire) and the integration tests (Failsafe). Extra arguments go to Maven.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/java-home.sh
exec mvn -B -ntp -Pall-platforms verify "$@"
