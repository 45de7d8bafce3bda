#!/usr/bin/env bash
# The newcomer's test command: installs what is missing, builds everything, runs the test suite.
#   scripts/test.sh [ctest args...]
# Environment: GEM_BUILD_DIR (default: build), GEM_JOBS (default: nproc).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GEM_BUILD_DIR:-$here/build}"
jobs="${GEM_JOBS:-$(nproc)}"

"$here/scripts/install-deps.sh"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$jobs"
cd "$build"
ctest --output-on-failure -j "$jobs" "$@"
