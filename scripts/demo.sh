#!/usr/bin/env bash
# The newcomer's main job. Installs what is missing, builds, then runs the replay benchmark of
# the paper's protocol on the two shipped model trees (data/trees).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${GEM_BUILD_DIR:-$here/build}"
"$here/scripts/install-deps.sh"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"
for tree in "$here"/data/trees/qwen2.5_3b.csv "$here"/data/trees/mistral_7b.csv; do
  "$build/bin/gem-replay" --tree "$tree" --reps 100 --budgets 10,25,50,100,200 --methods all
done
