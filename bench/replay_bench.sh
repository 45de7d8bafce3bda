#!/usr/bin/env bash
# Times gem-replay over the paper's whole protocol on the shipped trees: 2 trees x all methods x
# budgets 10,25,50,100,200 x 100 repetitions (11,000 searches). The goal (issue 2): under 5
# minutes wall on a 2-core machine. Prints wall and CPU time and the load average, since a busy
# machine stretches wall time; CPU time / threads is what an idle machine would take.
#   bench/replay_bench.sh [build dir] [extra gem-replay flags]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$here/build}"
shift || true
out="$(mktemp -d)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "gem-replay: wall %e s, user %U s, sys %S s, max RSS %M KiB" \
  "$build/bin/gem-replay" --tree "$here/data/trees/qwen2.5_3b.csv" \
  --tree "$here/data/trees/mistral_7b.csv" --reps 100 --budgets 10,25,50,100,200 \
  --methods all --threads 2 -q --out "$out/replay.csv" "$@" >"$out/replay.md"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results: $out/replay.csv, $out/replay.md"
