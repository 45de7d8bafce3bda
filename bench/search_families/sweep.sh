#!/usr/bin/env bash
# Issue 15's "Done when" on the held-out seeds: the default `gem` against `paper`,
# `paper_sh_schedule` and `gem_v1` (the default before issue 15), and `gem` against the paper's
# Table 4 applied as printed at equal actual spend, on every tree family (bench/search_families)
# and both shipped trees, agreements 0.99 and 0.999, averaged over 3 simulated matrices,
# N = 10, 25, 50, 100, 200, 100 repetitions per matrix. One thread, niced: the machine is shared.
#
#   bench/search_families/sweep.sh [build dir] [out dir] [extra gem-replay flags]
#
# The constants of `gem` were tuned on matrix seeds 1, 2, 3 (bench/search_families/gem_tune);
# this sweep reports on matrix seeds 4, 5, 6 and search seed 15, which tuning never saw.
# Writes OUT/families.csv (gem-replay format v2), OUT/families.md (its tables) and
# OUT/check.md (check_done.py: the three checks, pass or fail per cell). Prints the time taken.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$here/build}"
out="${2:-$(mktemp -d)}"
shift 2 || shift $# || true
mkdir -p "$out"
fam="$here/bench/search_families"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
/usr/bin/time -f "gem-replay: wall %e s, user %U s, sys %S s, max RSS %M KiB" \
  nice -n 10 "$build/bin/gem-replay" \
  --tree "$here/data/trees/qwen2.5_3b.csv" --tree "$here/data/trees/mistral_7b.csv" \
  --tree "$fam/standout.csv" --tree "$fam/top10_close.csv" --tree "$fam/mostly_broken.csv" \
  --tree "$fam/small.csv" --tree "$fam/large.csv" \
  --methods paper,paper_sh_schedule,gem_v1,gem,paper_table4,gem@table4 \
  --budgets 10,25,50,100,200 --reps 100 --agreement 0.99,0.999 --matrix-seeds 4,5,6 \
  --seed 15 --threads 1 -q --out "$out/families.csv" "$@" >"$out/families.md"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); $(( $(date +%s) - start )) s"
python3 "$fam/check_done.py" "$out/families.csv" >"$out/check.md" || true
tail -n 1 "$out/check.md"
echo "results: $out/families.csv, $out/families.md, $out/check.md"
